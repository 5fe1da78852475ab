"""The project's accuracy metric, defined once.

For each receipt: the mean over the label's keys of ``rapidfuzz.fuzz.ratio(label, prediction)``
(0-100); then the mean over receipts. A key missing from the prediction scores as "".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz


def field_score(label: object, prediction: object) -> float:
    return float(fuzz.ratio(str(label), "" if prediction is None else str(prediction)))


def receipt_scores(
    label: Mapping[str, object], prediction: Mapping[str, object]
) -> dict[str, float]:
    """Per-field scores of one receipt, over the label's keys."""
    return {key: field_score(value, prediction.get(key, "")) for key, value in label.items()}


def receipt_score(label: Mapping[str, object], prediction: Mapping[str, object]) -> float:
    scores = receipt_scores(label, prediction)
    return sum(scores.values()) / len(scores) if scores else 0.0


@dataclass
class ScoreBoard:
    """Accumulates receipts and reports per-field and overall means."""

    receipt_totals: list[float] = field(default_factory=list)
    per_field: dict[str, list[float]] = field(default_factory=dict)

    def add(self, label: Mapping[str, object], prediction: Mapping[str, object]) -> float:
        scores = receipt_scores(label, prediction)
        for key, value in scores.items():
            self.per_field.setdefault(key, []).append(value)
        total = sum(scores.values()) / len(scores) if scores else 0.0
        self.receipt_totals.append(total)
        return total

    @property
    def count(self) -> int:
        return len(self.receipt_totals)

    @property
    def mean(self) -> float:
        return sum(self.receipt_totals) / len(self.receipt_totals) if self.receipt_totals else 0.0

    def field_means(self) -> dict[str, float]:
        return {key: sum(v) / len(v) for key, v in self.per_field.items()}


def mean_score(pairs: Iterable[tuple[Mapping[str, object], Mapping[str, object]]]) -> float:
    board = ScoreBoard()
    for label, prediction in pairs:
        board.add(label, prediction)
    return board.mean
