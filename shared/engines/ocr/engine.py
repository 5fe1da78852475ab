"""The CPU engine: rapidocr text lines, then fields picked by rules or, once a trained version
is promoted, by the learned extractor (``learned.py``) that reviewers' corrections taught."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

from PIL import Image

from shared.config import get_settings
from shared.engines.base import Engine, ExtractionResult
from shared.engines.ocr.fields import extract_fields
from shared.engines.ocr.learned import LearnedExtractor
from shared.engines.ocr.reader import shared_reader
from shared.fields import FieldSpec


class OcrEngine(Engine):
    name = "ocr"
    supports_versions = True

    def __init__(self, fields: Sequence[FieldSpec]) -> None:
        super().__init__(fields)
        self._reader = shared_reader(get_settings().ocr_threads)
        self._learned: LearnedExtractor | None = None
        self._version_id: int | None = None

    @property
    def model_name(self) -> str:
        picker = "learned" if self._learned else "rules"
        return f"rapidocr-{version('rapidocr')}+{picker}"

    @property
    def model_version(self) -> int | None:
        return self._version_id

    def use_version(self, version_id: int | None, artifact_dir: Path | None) -> None:
        # Loaded completely before it replaces anything: a bad folder raises, rules stay.
        self._learned = LearnedExtractor.load(artifact_dir) if artifact_dir else None
        self._version_id = version_id

    def extract(self, images: Sequence[Image.Image]) -> list[ExtractionResult]:
        return [self._extract_one(image) for image in images]

    def _extract_one(self, image: Image.Image) -> ExtractionResult:
        lines = self._reader.read(image)
        # The lines are kept as the raw output: review pages locate values on them, and the
        # trainer learns from them without reading the image again.
        raw = json.dumps([ln.to_json() for ln in lines])
        fields = (self._learned.extract(lines, self.fields) if self._learned
                  else extract_fields(lines, self.fields))
        return ExtractionResult(fields=fields, raw_output=raw)
