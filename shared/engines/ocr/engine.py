"""The CPU engine: text lines (a PDF page's own text layer, else rapidocr on the page turned
upright: ``orientation.py``, with look-alike digits in words read as letters: ``spelling.py``),
then fields picked by rules or, once a trained version is promoted, by the learned extractor
(``learned.py``) that reviewers' corrections taught. A document's pages are read one under the
other, and each value's box names its page."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

from shared.config import get_settings
from shared.documents import TEXT_LAYER, Document, Page, as_document
from shared.documents.layout import Stack, stack_lines
from shared.documents.lines import TextLine
from shared.engines.base import Engine, ExtractionResult, FieldValue, Input, PageReading
from shared.engines.ocr.fields import extract_fields
from shared.engines.ocr.learned import LearnedExtractor
from shared.engines.ocr.orientation import read_upright
from shared.engines.ocr.reader import LineReader, shared_reader
from shared.engines.ocr.spelling import respell_lines
from shared.engines.ocr.stamps import without_stamps
from shared.fields import FieldSpec


class OcrEngine(Engine):
    name = "ocr"
    supports_versions = True
    learns_from_reviews = True

    def __init__(self, fields: Sequence[FieldSpec]) -> None:
        super().__init__(fields)
        self._reader = shared_reader(get_settings().ocr_threads)
        self._trained: LearnedExtractor | None = None  # the version as trained
        self._learned: LearnedExtractor | None = None  # and as served, with later reviews
        self._version_id: int | None = None

    @property
    def model_name(self) -> str:
        picker = "learned" if self._learned else "rules"
        return f"rapidocr-{version('rapidocr')}+{picker}"

    @property
    def model_version(self) -> int | None:
        return self._version_id

    @property
    def learned(self) -> LearnedExtractor | None:
        """The learned extractor served (None: the rules), with the reviews given since."""
        return self._learned

    def use_version(self, version_id: int | None, artifact_dir: Path | None) -> None:
        # Loaded completely before it replaces anything: a bad folder raises, rules stay.
        self._trained = LearnedExtractor.load(artifact_dir) if artifact_dir else None
        self._learned = self._trained
        self._version_id = version_id

    def learn_reviews(self, labels: Sequence[Mapping[str, object]],
                      texts: Sequence[Sequence[str]]) -> None:
        # The rules have nothing to remember with: reviews wait for the first trained version.
        if self._trained is not None:
            self._learned = self._trained.with_reviews(labels, texts)

    def extract(self, documents: Sequence[Input]) -> list[ExtractionResult]:
        return [self._extract_one(as_document(d)) for d in documents]

    def _extract_one(self, document: Document) -> ExtractionResult:
        stack, readings = read_stack(self._reader, document)
        fields = (self._learned.extract(stack.lines, self.fields) if self._learned
                  else extract_fields(stack.lines, self.fields))
        # The stacked lines are kept as the raw output: the trainer learns from exactly what
        # the rules saw, without reading the pages again.
        raw = json.dumps([ln.to_json() for ln in stack.lines])
        return ExtractionResult(fields={name: _on_page(fv, stack) for name, fv in fields.items()},
                                raw_output=raw, pages=readings)


def as_printed(lines: Sequence[TextLine]) -> list[TextLine]:
    """OCR's lines as the shop printed them, as the rules read them: a bookkeeper's stamp
    dropped, the words respelled. The benchmarks' cached lines go through it too."""
    return respell_lines(without_stamps(lines))


def read_page(reader: LineReader, page: Page) -> PageReading:
    """The page's lines: its text layer when it has one (exact, no OCR), else OCR of the page
    turned upright, without a bookkeeper's stamp, respelled."""
    if page.lines is not None:
        return PageReading(page.number, list(page.lines), TEXT_LAYER)
    reading = read_upright(reader, page.image)
    return PageReading(page.number, as_printed(reading.lines), f"rapidocr-{version('rapidocr')}",
                       reading.transforms, reading.image if reading.turned else None)


def read_stack(reader: LineReader, document: Document) -> tuple[Stack, list[PageReading]]:
    """Every page read, and their lines one page under the other: how the rules read a
    document, as one receipt."""
    readings = [read_page(reader, page) for page in document.pages]
    heights = [(r.image or p.image).height
               for r, p in zip(readings, document.pages, strict=True)]
    return stack_lines([(r.lines, h) for r, h in zip(readings, heights, strict=True)]), readings


def _on_page(value: FieldValue, stack: Stack) -> FieldValue:
    if value.box is None:
        return value
    page, box = stack.locate(value.box)
    return replace(value, box=box, page=page)
