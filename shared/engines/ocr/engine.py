"""The CPU engine: rapidocr text lines, then field rules over those lines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.metadata import version

from PIL import Image

from shared.config import get_settings
from shared.engines.base import Engine, ExtractionResult
from shared.engines.ocr.fields import extract_fields
from shared.engines.ocr.reader import LineReader
from shared.fields import FieldSpec


class OcrEngine(Engine):
    name = "ocr"

    def __init__(self, fields: Sequence[FieldSpec]) -> None:
        super().__init__(fields)
        self._reader = LineReader(threads=get_settings().ocr_threads)

    @property
    def model_name(self) -> str:
        return f"rapidocr-{version('rapidocr')}+rules"

    def extract(self, images: Sequence[Image.Image]) -> list[ExtractionResult]:
        return [self._extract_one(image) for image in images]

    def _extract_one(self, image: Image.Image) -> ExtractionResult:
        lines = self._reader.read(image)
        # The lines are kept as the raw output: review pages locate values on them.
        raw = json.dumps(
            [{"text": ln.text, "box": ln.box, "score": round(ln.score, 3)} for ln in lines]
        )
        return ExtractionResult(fields=extract_fields(lines, self.fields), raw_output=raw)
