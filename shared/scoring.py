"""The project's accuracy metrics, defined once.

- **fuzzy**: for each receipt, the mean over the label's keys of ``rapidfuzz.fuzz.ratio(label,
  prediction)`` (0-100); then the mean over receipts. A key missing from the prediction scores
  as "".
- **exact**: the share of labelled fields whose prediction is right after removing what does not
  change the value: NFKC, typographic quotes as plain ones, case folded, whitespace removed,
  and amounts compared as numbers (decimal comma understood: "4,70" == "4.70", "RM 9.00" ==
  "9"). What a bookkeeper counts: a field that is not exactly right costs an edit. SROIE's own
  measure (ICDAR 2019 task 3) is exact-match entity F1; with one value per labelled field it
  is this rate.
- ``normalize=True`` scores fuzzy on the normalised texts too, for label sets written without
  spaces inside a box (WildReceipt: ``"2621ORANGETHORPEAVE,FULLERTON."``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz

from shared.fields import FIELD_SETS
from shared.values import AMOUNT_KINDS
from shared.values.money import parse_amount

# Field name -> kind for the fields every label set here uses; other keys score as text.
DEFAULT_KINDS: dict[str, str] = {f.name: f.kind for f in FIELD_SETS["accounting"]}


# Typographic quotes as the plain ones (NFKC leaves them): "ARTIE’S" is "ARTIE'S".
QUOTES = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'", "“": '"', "”": '"'})


def normalised(text: object) -> str:
    """The text as compared for an exact match: NFKC, typographic quotes plain, case folded,
    no whitespace."""
    # Quotes first: NFKC turns an acute accent ("27Dec´16") into a space and a combining mark.
    quoted = ("" if text is None else str(text)).translate(QUOTES)
    return "".join(unicodedata.normalize("NFKC", quoted).casefold().split())


# One mark before exactly three digits and nothing after: "197.285" is read as the receipt's
# country writes it (rupiah, dong: thousands), which a label set does not say; both sides
# are read as thousands when compared, so "197.285" and "197,285" are the same amount.
GROUPED_RE = re.compile(r"(?<![\d.,])(\d{1,3})[.,](\d{3})(?![\d.,])")


def amount_value(text: object) -> Decimal | None:
    text = "" if text is None else str(text)
    parsed = parse_amount(GROUPED_RE.sub(r"\1\2", text))
    return parsed.value if parsed else None


def _comparable(text: object, kind: str) -> str:
    """What exact match compares: an amount's number (when it reads as one), else the text
    normalised."""
    if kind in AMOUNT_KINDS and (value := amount_value(text)) is not None:
        return format(value.normalize(), "f")  # 9.00 -> "9", 1234.50 -> "1234.5"
    return normalised(text)


def exact_match(label: object, prediction: object, kind: str = "text") -> bool:
    return _comparable(label, kind) == _comparable(prediction, kind)


def field_score(label: object, prediction: object, kind: str = "text",
                normalize: bool = False) -> float:
    """fuzz.ratio of the printed texts; ``normalize``: of the compared forms (an amount that
    reads as the same number scores 100)."""
    if normalize:
        return float(fuzz.ratio(_comparable(label, kind), _comparable(prediction, kind)))
    return float(fuzz.ratio(str(label), "" if prediction is None else str(prediction)))


def receipt_scores(label: Mapping[str, object], prediction: Mapping[str, object], *,
                   kinds: Mapping[str, str] = DEFAULT_KINDS,
                   normalize: bool = False) -> dict[str, float]:
    """Per-field fuzzy scores of one receipt, over the label's keys."""
    return {key: field_score(value, prediction.get(key, ""), kinds.get(key, "text"), normalize)
            for key, value in label.items()}


def receipt_score(label: Mapping[str, object], prediction: Mapping[str, object]) -> float:
    scores = receipt_scores(label, prediction)
    return sum(scores.values()) / len(scores) if scores else 0.0


@dataclass
class ScoreBoard:
    """Accumulates receipts and reports per-field and overall means, fuzzy and exact."""

    normalize: bool = False
    kinds: Mapping[str, str] = field(default_factory=lambda: DEFAULT_KINDS)
    receipt_totals: list[float] = field(default_factory=list)
    per_field: dict[str, list[float]] = field(default_factory=dict)
    per_field_exact: dict[str, list[bool]] = field(default_factory=dict)

    def add(self, label: Mapping[str, object], prediction: Mapping[str, object]) -> float:
        scores = receipt_scores(label, prediction, kinds=self.kinds, normalize=self.normalize)
        for key, value in scores.items():
            self.per_field.setdefault(key, []).append(value)
            self.per_field_exact.setdefault(key, []).append(
                exact_match(label[key], prediction.get(key, ""), self.kinds.get(key, "text")))
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

    def exact_rates(self) -> dict[str, float]:
        """Per field: the percentage of labelled fields predicted exactly (0-100)."""
        return {key: 100.0 * sum(v) / len(v) for key, v in self.per_field_exact.items()}

    @property
    def exact_mean(self) -> float:
        """The mean of the per-field exact-match rates (each field weighs the same, as in the
        fuzzy per-field table)."""
        rates = self.exact_rates()
        return sum(rates.values()) / len(rates) if rates else 0.0

    def summary(self) -> dict[str, object]:
        return {
            "receipts": self.count,
            "mean": round(self.mean, 2),
            "fields": {k: round(v, 2) for k, v in self.field_means().items()},
            "exact_mean": round(self.exact_mean, 2),
            "exact": {k: round(v, 2) for k, v in self.exact_rates().items()},
            **({"normalized": True} if self.normalize else {}),
        }


def mean_score(pairs: Iterable[tuple[Mapping[str, object], Mapping[str, object]]]) -> float:
    board = ScoreBoard()
    for label, prediction in pairs:
        board.add(label, prediction)
    return board.mean
