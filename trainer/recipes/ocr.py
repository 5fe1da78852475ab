"""The CPU engine: a learned field extractor over OCR lines (``shared/engines/ocr/learned.py``),
trained from the reviewed receipts' OCR lines and corrected values."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.config import Settings
from shared.documents.lines import TextLine
from shared.engines.base import Engine
from shared.engines.ocr.learned import LearnedExtractor
from shared.fields import FieldSpec
from trainer.data import Labelled
from trainer.recipes import Progress


class OcrRecipe:
    engine = "ocr"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def base_model(self, params: dict[str, Any]) -> str:
        from importlib.metadata import version

        return f"rapidocr-{version('rapidocr')}"

    def _lines(self, example: Labelled) -> list[TextLine]:
        """The lines the worker read when it processed the receipt; OCR again only for
        receipts that never went through the OCR engine (e.g. a labelled folder)."""
        if example.lines is not None:
            return list(example.lines)
        from shared.engines.ocr.engine import read_stack
        from shared.engines.ocr.reader import shared_reader

        stack, _readings = read_stack(shared_reader(self.settings.ocr_threads),
                                      example.document())
        return stack.lines

    def fit(self, train_set: Sequence[Labelled], fields: Sequence[FieldSpec],
            params: dict[str, Any], out_dir: Path, progress: Progress) -> dict[str, Any]:
        started = time.perf_counter()
        pairs = []
        for i, example in enumerate(train_set, 1):
            pairs.append((self._lines(example), example.label))
            progress(i, len(train_set) + 1, None)  # reading lines is most of the time
        extractor = LearnedExtractor.fit(pairs, fields, normalize=bool(params.get("normalize")))
        extractor.save(out_dir)
        progress(len(train_set) + 1, len(train_set) + 1, None)
        return {"seconds": round(time.perf_counter() - started, 1),
                "samples": len(train_set)}

    def serving_engine(self, fields: Sequence[FieldSpec], params: dict[str, Any]) -> Engine:
        from shared.engines.ocr.engine import OcrEngine

        return OcrEngine(fields)
