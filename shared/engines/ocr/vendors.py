"""Vendor memory: the company and address as reviewers wrote them, for sellers seen before.

A business's receipts print its name and address the same way every time, and the same OCR
misreads come back ("KWANSAN PERINDUSTRIAN" for "KAWASAN"), as do the reviewers' conventions
(a trailing full stop, "SDN BHD" without dots). Once one receipt of a seller is corrected, the
next one's header is almost always that correction. The memory keeps each corrected value,
grouped with its near-duplicates; a new receipt's predicted value that is close to one of them
(normalised ``fuzz.ratio`` at least ``threshold``) is replaced by the group's most common
written form. Branches of a chain differ in their address, so each field is matched on its
own: a chain's name is remembered, a new branch's address is not replaced by another's.
For sellers not seen before, the words of the corrected addresses still spell the common words
of addresses (``lexicon.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from shared.engines.ocr.lexicon import Lexicon
from shared.scoring import normalised

# Fields of these kinds are remembered: what a seller prints the same on every receipt.
REMEMBERED_KINDS = ("company", "address")
DEFAULT_THRESHOLD = {"company": 88.0, "address": 85.0}
# Two corrected company names this close are one seller (grouping while building).
VENDOR_CUTOFF = 92.0
# With the seller recognised, a predicted address this close to one of its addresses is that
# address: lower than a bare address match, since the company already names the seller.
SELLER_ADDRESS_CUTOFF = 60.0


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
    # A seller's addresses as reviewers wrote them, by its company group's key: once the
    # company is recognised, its address is one of these (or a branch not seen yet).
    addresses: dict[str, Counter[str]] = field(default_factory=dict)
    lexicon: Lexicon = field(default_factory=Lexicon)

    @classmethod
    def build(cls, labels: Iterable[Mapping[str, object]], kinds: Mapping[str, str],
              thresholds: Mapping[str, float] | None = None) -> VendorMemory:
        memory = cls()
        labels = list(labels)
        company = next((n for n, k in kinds.items() if k == "company"), None)
        address = next((n for n, k in kinds.items() if k == "address"), None)
        for label in labels:
            found: dict[str, _Group] = {}
            for name, kind in kinds.items():
                value = label.get(name)
                if kind not in REMEMBERED_KINDS or not isinstance(value, str) or not value:
                    continue
                groups = memory.groups.setdefault(name, [])
                memory.thresholds.setdefault(name, (thresholds or {}).get(
                    name, DEFAULT_THRESHOLD[kind]))
                key = normalised(value)
                match = memory._match(name, key, VENDOR_CUTOFF)
                group = match[0] if match else None
                if group is None:
                    group = _Group(key)
                    groups.append(group)
                group.forms[value] += 1
                found[name] = group
            where = label.get(address or "")
            if company in found and isinstance(where, str) and where:
                memory.addresses.setdefault(found[company].key, Counter())[where] += 1
        # Addresses only: in names a letter apart is often another name ("GERBANG ALAF",
        # "RESTAURANTS"); SROIE, 150 corrections: names 5 right and 10 wrong more.
        memory.lexicon = Lexicon.build(labels, [n for n, k in kinds.items() if k == "address"])
        return memory

    def _match(self, name: str, key: str, cutoff: float) -> tuple[_Group, float] | None:
        """The group of ``name`` whose key is closest to ``key`` (normalised), with the
        ratio, when at least ``cutoff``."""
        groups = self.groups.get(name)
        if not groups:
            return None
        best = process.extractOne(key, [g.key for g in groups], scorer=fuzz.ratio,
                                  score_cutoff=cutoff)
        return (groups[best[2]], float(best[1])) if best else None

    def seller(self, name: str, company: str) -> str | None:
        """The key of the seller a company text names, when it is one seen before."""
        if not company.strip():
            return None
        match = self._match(name, normalised(company),
                            self.thresholds.get(name, DEFAULT_THRESHOLD["company"]))
        return match[0].key if match else None

    def seller_address(self, seller: str | None, predicted: str) -> tuple[str, float] | None:
        """The seller's remembered address closest to the predicted one (a chain's branches
        differ), with its match ratio, when close enough to be that address misread."""
        # getattr: a memory saved before addresses were kept has none.
        forms = getattr(self, "addresses", {}).get(seller or "")
        if not forms or not predicted.strip():
            return None
        key, numbers = normalised(predicted), _numbers(predicted)
        if not numbers:
            return None  # nothing that tells branches apart: only a close match (recall)
        # Branches share a street's words and a town's postcode; their numbers tell them
        # apart. Every number read must be the form's (a line missed drops some, none is new).
        fitting = [(fuzz.ratio(key, normalised(f)), f) for f in forms if numbers <= _numbers(f)]
        if not fitting:
            return None
        ratio, form = max(fitting)
        return (form, float(ratio)) if ratio >= SELLER_ADDRESS_CUTOFF else None

    def recall(self, name: str, predicted: str) -> tuple[str, float] | None:
        """The remembered value for a predicted one, with its match ratio, or None."""
        if name not in self.groups or not predicted.strip():
            return None
        match = self._match(name, normalised(predicted), self.thresholds[name])
        return (match[0].value, match[1]) if match else None

    def spell(self, name: str, predicted: str) -> str:
        """The predicted value with its words spelled as reviewers wrote them (``lexicon``)."""
        lexicon = getattr(self, "lexicon", None)  # a memory saved before spelling has none
        return lexicon.repair(name, predicted) if lexicon is not None else predicted

    @property
    def fields(self) -> list[str]:
        return list(self.groups)


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+", text))
