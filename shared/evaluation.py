"""Scoring an engine on a labelled folder (``images/`` + ``labels/``), as `receiptflow eval` and
the trainer's held-out evaluation do."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from shared.calibration import Record
from shared.documents import Document, DocumentRejected, read_document
from shared.engines.base import Engine
from shared.scoring import DEFAULT_KINDS, ScoreBoard, exact_match

# Files a labelled folder's images/ may hold: photos, scans and PDFs.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif",
                  ".pdf")


class Labelled(Protocol):
    """A receipt with its true values: a file of a labelled folder, or a reviewed receipt."""

    name: str
    label: dict[str, object]  # text fields' values; a table field's rows when labelled

    def document(self) -> Document: ...


def text_label(label: Mapping[str, object]) -> dict[str, object]:
    """The fields the score covers: text fields (line items are measured apart, as item F1:
    benchmarks/typed_values.py)."""
    return {k: v for k, v in label.items() if not isinstance(v, list)}


@dataclass(frozen=True)
class Example:
    image_path: Path
    label: dict[str, object]

    @property
    def name(self) -> str:
        return self.image_path.stem

    def document(self) -> Document:
        from shared.config import get_settings

        return read_document(self.image_path.read_bytes(), get_settings().document_limits)


def load_labelled_folder(root: Path) -> list[Example]:
    """Pairs ``images/NAME.*`` with ``labels/NAME.json``; images without a label are skipped."""
    images, labels = root / "images", root / "labels"
    if not images.is_dir() or not labels.is_dir():
        raise FileNotFoundError(f"{root} must hold images/ and labels/ folders")
    examples = []
    for path in sorted(images.iterdir()):
        label_path = labels / f"{path.stem}.json"
        if path.suffix.lower() in IMAGE_SUFFIXES and label_path.exists():
            examples.append(Example(path, json.loads(label_path.read_text())))
    if not examples:
        raise FileNotFoundError(f"no labelled images in {root}")
    return examples


@dataclass
class EvalReport:
    board: ScoreBoard
    seconds: float
    predictions: dict[str, dict[str, str]] = field(default_factory=dict)
    confidences: dict[str, dict[str, float]] = field(default_factory=dict)  # the engine's
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def receipts_per_s(self) -> float:
        return self.board.count / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, object]:
        return {**self.board.summary(), "receipts_per_s": round(self.receipts_per_s, 3),
                "failures": len(self.failures)}


def evaluate(engine: Engine, examples: Sequence[Labelled], *, batch_size: int = 1,
             progress: bool = True, normalize: bool = False) -> EvalReport:
    """Scores ``engine`` on ``examples``: fuzzy and exact per field (``shared/scoring.py``);
    ``normalize`` for labels written without spaces (WildReceipt)."""
    board = ScoreBoard(normalize=normalize, kinds={**DEFAULT_KINDS,
                                                   **{f.name: f.kind for f in engine.fields}})
    report = EvalReport(board=board, seconds=0.0)
    bar = tqdm(total=len(examples), unit="receipt", disable=not progress)
    started = time.perf_counter()
    for start in range(0, len(examples), batch_size):
        chunk = examples[start:start + batch_size]
        documents, readable = [], []
        for ex in chunk:
            try:
                documents.append(ex.document())
                readable.append(ex)
            except DocumentRejected as exc:
                report.failures[ex.name] = str(exc)
                board.add(text_label(ex.label), {})
        for ex, result in zip(readable, engine.extract(documents), strict=True):
            prediction = result.values()
            if result.error:
                report.failures[ex.name] = result.error
            report.predictions[ex.name] = prediction
            report.confidences[ex.name] = {n: fv.confidence for n, fv in result.fields.items()}
            board.add(text_label(ex.label), prediction)
        bar.update(len(chunk))
        bar.set_postfix(mean=f"{board.mean:.1f}", exact=f"{board.exact_mean:.1f}%")
    report.seconds = time.perf_counter() - started
    bar.close()
    return report


def confidence_records(report: EvalReport, examples: Sequence[Labelled],
                       kinds: dict[str, str]) -> list[Record]:
    """Per labelled example, per text field: (the engine's confidence, exactly right): what a
    calibration and its cuts are fitted on (``shared/acceptance.py``)."""
    records: list[Record] = []
    for ex in examples:
        predicted = report.predictions.get(ex.name)
        confidences = report.confidences.get(ex.name, {})
        if predicted is None:
            continue
        label = text_label(ex.label)
        records.append({
            name: (confidences[name], exact_match(label[name], predicted.get(name, ""), kind))
            for name, kind in kinds.items() if name in label and name in confidences})
    return records
