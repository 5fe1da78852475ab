"""Vendor memory: the company and address as reviewers wrote them, for sellers seen before.

A business's receipts print its name and address the same way every time, and the same OCR
misreads come back ("KWANSAN PERINDUSTRIAN" for "KAWASAN"), as do the reviewers' conventions
(a trailing full stop, "SDN BHD" without dots). Once one receipt of a seller is corrected, the
next one's header is almost always that correction. The memory keeps each corrected value,
grouped with its near-duplicates; a new receipt's predicted value that is close to one of them
(normalised ``fuzz.ratio`` at least ``threshold``) is replaced by the group's most common
written form. Branches of a chain differ in their address, so each field is matched on its
own: a chain's name is remembered, a new branch's address is not replaced by another's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from shared.scoring import normalised

# Fields of these kinds are remembered: what a seller prints the same on every receipt.
REMEMBERED_KINDS = ("company", "address")
DEFAULT_THRESHOLD = {"company": 88.0, "address": 85.0}


@dataclass
class _Group:
    key: str  # normalised form of the first value seen
    forms: Counter[str] = field(default_factory=Counter)

    @property
    def value(self) -> str:
        return self.forms.most_common(1)[0][0]


@dataclass
class VendorMemory:
    """Per field: groups of corrected values and the match threshold."""

    groups: dict[str, list[_Group]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, labels: Iterable[Mapping[str, object]], kinds: Mapping[str, str],
              thresholds: Mapping[str, float] | None = None) -> VendorMemory:
        memory = cls()
        for label in labels:
            for name, kind in kinds.items():
                value = label.get(name)
                if kind not in REMEMBERED_KINDS or not isinstance(value, str) or not value:
                    continue
                groups = memory.groups.setdefault(name, [])
                memory.thresholds.setdefault(name, (thresholds or {}).get(
                    name, DEFAULT_THRESHOLD[kind]))
                key = normalised(value)
                best = process.extractOne(key, [g.key for g in groups], scorer=fuzz.ratio,
                                          score_cutoff=92.0) if groups else None
                group = groups[best[2]] if best else None
                if group is None:
                    group = _Group(key)
                    groups.append(group)
                group.forms[value] += 1
        return memory

    def recall(self, name: str, predicted: str) -> tuple[str, float] | None:
        """The remembered value for a predicted one, with its match ratio, or None."""
        groups = self.groups.get(name)
        if not groups or not predicted.strip():
            return None
        best = process.extractOne(normalised(predicted), [g.key for g in groups],
                                  scorer=fuzz.ratio, score_cutoff=self.thresholds[name])
        if best is None:
            return None
        return groups[best[2]].value, float(best[1])

    @property
    def fields(self) -> list[str]:
        return list(self.groups)
