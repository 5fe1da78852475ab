"""The one small interface every extraction engine implements.

Engines read documents (``shared.documents``: one or more pages, each an image and perhaps its
text layer; a bare image is a one-page document) into fields, and know nothing about transport:
no Flask, no Celery, no database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image

from shared.documents import Document
from shared.documents.lines import Box, TextLine
from shared.fields import FieldSpec
from shared.pipeline import pipelined

Input = Document | Image.Image  # an image is taken as a one-page document


@dataclass(frozen=True)
class FieldValue:
    """One extracted field: its text, how sure the engine is (0-1) and where it was read."""

    value: str = ""
    confidence: float = 0.0
    box: Box | None = None
    page: int | None = None  # the page the box is on (1-based)
    rows: tuple[ItemRow, ...] | None = None  # a table field's rows (line items)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "value": self.value,
            "confidence": round(float(self.confidence), 4),
            "box": _box(self.box),
            "page": self.page if self.box else None,
        }
        if self.rows is not None:
            out["rows"] = [row.to_json() for row in self.rows]
        return out


@dataclass(frozen=True)
class ItemRow:
    """One row of a table field: a cell per column, and where the row is printed."""

    cells: dict[str, FieldValue]
    box: Box | None = None
    page: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"cells": {name: {"value": cell.value,
                                 "confidence": round(float(cell.confidence), 4)}
                          for name, cell in self.cells.items()},
                "box": _box(self.box), "page": self.page if self.box else None}


def _box(box: Box | None) -> list[float] | None:
    return [round(float(v), 1) for v in box] if box else None


@dataclass
class PageReading:
    """What an engine read on one page, for the page's row: its lines, how it read them, what
    it did to the page to read it, and the page upright when it had to turn it."""

    number: int
    lines: list[TextLine]
    lines_source: str
    transforms: list[dict[str, Any]] = field(default_factory=list)
    image: Image.Image | None = None  # a new rendition to store (turned or straightened)


@dataclass
class ExtractionResult:
    """What an engine read from one receipt.

    ``error`` is set when this receipt could not be read (the rest of the batch is unaffected);
    ``raw_output`` keeps what the engine saw or said, for debugging and review.
    """

    fields: dict[str, FieldValue] = field(default_factory=dict)
    raw_output: str = ""
    error: str | None = None
    pages: list[PageReading] = field(default_factory=list)  # engines that read text lines

    def values(self) -> dict[str, str]:
        return {name: fv.value for name, fv in self.fields.items()}


class Engine(ABC):
    """Reads receipts into fields. Instances are heavy: build one per process and reuse it."""

    name: ClassVar[str]
    # Engines with trainable parts (adapters, learned extractors) serve model versions.
    supports_versions: ClassVar[bool] = False
    # Engines whose served version also learns from reviews made after it was trained.
    learns_from_reviews: ClassVar[bool] = False

    def __init__(self, fields: Sequence[FieldSpec]) -> None:
        self.fields = tuple(fields)

    @property
    @abstractmethod
    def model_name(self) -> str:
        """The base model or method, recorded with every extraction."""

    @property
    def model_version(self) -> str | None:
        """The active trained version (adapter, learned extractor), if any."""
        return None

    def use_version(self, version_id: int | None, artifact_dir: Path | None) -> None:
        """Serve this trained version (None: the untrained base) from now on."""
        raise NotImplementedError(f"engine {self.name} has no trainable versions")

    def learn_reviews(self, labels: Sequence[Mapping[str, object]],
                      texts: Sequence[Sequence[str]]) -> None:
        """Use these reviewed receipts' values (``texts``: each one's text lines) beside the
        served version, replacing the reviews given before."""
        raise NotImplementedError(f"engine {self.name} does not learn from reviews")

    @abstractmethod
    def extract(self, documents: Sequence[Input]) -> list[ExtractionResult]:
        """One result per document, in order. A bad one yields a result with ``error`` set."""

    # A batch can go through three stages, which callers run on three threads (see
    # shared/pipeline.py) so the model's stage never waits for the CPU work around it:
    # prepare (decode, resize, upload) -> infer (the model) -> interpret (parse into results).

    def prepare(self, documents: Sequence[Input]) -> Any:
        """Work that can run ahead of the model (resizing, tiling, uploading). Pass the result
        to ``infer``."""
        return list(documents)

    def infer(self, prepared: Any) -> Any:
        """The model's work on what ``prepare`` returned. Pass the result to ``interpret``."""
        return self.extract(prepared)

    def interpret(self, inferred: Any) -> list[ExtractionResult]:
        """One result per image of the batch, from what ``infer`` returned."""
        return list(inferred)

    def extract_prepared(self, prepared: Any) -> list[ExtractionResult]:
        """``extract`` for what ``prepare`` returned, in the caller's thread."""
        return self.interpret(self.infer(prepared))

    def extract_pipelined(self, batches: Iterable[Sequence[Input]]) -> list[ExtractionResult]:
        """``extract`` over several batches, their three stages overlapping."""
        results: list[ExtractionResult] = []
        for _, out in pipelined(batches, [self.prepare, self.infer, self.interpret],
                                name=f"{self.name}-stage"):
            if isinstance(out, BaseException):
                raise out
            results.extend(out)
        return results
