"""Vendor memory: the company and address as reviewers wrote them, for sellers seen before.

A business's receipts print its name and address the same way every time, and the same OCR
misreads come back ("KWANSAN PERINDUSTRIAN" for "KAWASAN"), as do the reviewers' conventions
(a trailing full stop, "SDN BHD" without dots). Once one receipt of a seller is corrected, the
next one's header is almost always that correction. The memory keeps each corrected value,
grouped with its near-duplicates; a new receipt's predicted value that is close to one of them
(normalised ``fuzz.ratio`` at least ``threshold``) is replaced by the group's most common
written form. Branches of a chain differ in their address, so each field is matched on its
own: a chain's name is remembered, a new branch's address is not replaced by another's. Some
chains' reviewers write each branch's own row after the address the branches share ("...
SELANGOR 1237-TMN INDAH PERDANA"): where most of a seller's remembered addresses go on past the
one read, in different words (``wants_branch_row``), the receipt's row below the address is
added (``learned.py``).
A seller whose name OCR misread past matching is still known by the numbers it prints on every
receipt: its registration and tax numbers and its phone (``seller_ids``). For sellers not seen
before, the words of the corrected addresses still spell the common words of addresses
(``lexicon.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Hamming

from shared.engines.ocr.lexicon import O_BY_DIGIT_RE, Lexicon
from shared.engines.ocr.rules.date import has_date
from shared.scoring import normalised

# Fields of these kinds are remembered: what a seller prints the same on every receipt.
REMEMBERED_KINDS = ("company", "address")
DEFAULT_THRESHOLD = {"company": 88.0, "address": 85.0}
# Two corrected company names this close are one seller (grouping while building).
VENDOR_CUTOFF = 92.0
# With the seller recognised, a predicted address this close to one of its addresses is that
# address: lower than a bare address match, since the company already names the seller.
SELLER_ADDRESS_CUTOFF = 60.0
# A chain whose reviewers write each branch's own row after the address the branches share
# ("... 41150 KLANG, SELANGOR 1237-TMN INDAH PERDANA"): its remembered addresses that begin as
# the one read (this close) go on in at least this many different tails, and more of them go on
# than stop there.
BRANCH_BODY_RATIO = 90.0
BRANCH_TAILS = 2
MIN_TAIL_CHARS = 4
# A remembered name replaces a close prediction only when their letters and digits differ in
# number by at most this: a misread letter or two, not a word the receipt prints otherwise.
NAME_MISREAD_CHARS = 2
# A name that shares its first characters with the seller's, then goes on in as many others
# unlike the seller's, is another branch's.
BRANCH_MIN_CHARS = 4
BRANCH_REST_RATIO = 60.0
# An identifier has several different digits: "0000008000" is a card terminal's status field.
SELLER_ID_DISTINCT = 4
# A run of digits (with dashes, inner spaces and a letter suffix: "273500-U", "03-6150 3009",
# "000306020352") that names one business: a registration number (digits and a check letter)
# or a tax or phone number (9 digits or more). Shorter runs are too often a bill number or a
# date written as one ("201816"): SROIE, 150 corrections, six of them named a wrong seller.
SELLER_ID_RE = re.compile(r"(?<![\w.,])\d[\d -]{4,}\d(?:-?[A-Z])?(?![\w.,])")
SELLER_ID_DIGITS = 9
REGISTRATION_DIGITS = 6


@dataclass
class _Group:
    key: str  # normalised form of the first value seen
    forms: Counter[str] = field(default_factory=Counter)

    @property
    def value(self) -> str:
        return self.forms.most_common(1)[0][0]

    def form_for(self, predicted: str) -> str:
        """The form reviewers wrote that the prediction already is (normalised), else the most
        common one: where reviewers wrote a seller two ways ("MR D.I.Y. (M)", "MR. D.I.Y.
        (M)"), a prediction in one of them is not rewritten into the other."""
        key = normalised(predicted)
        return next((form for form in self.forms if normalised(form) == key), self.value)


@dataclass
class VendorMemory:
    """Per field: groups of corrected values and the match threshold."""

    groups: dict[str, list[_Group]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    # A seller's addresses as reviewers wrote them, by its company group's key: once the
    # company is recognised, its address is one of these (or a branch not seen yet).
    addresses: dict[str, Counter[str]] = field(default_factory=dict)
    lexicon: Lexicon = field(default_factory=Lexicon)
    # The numbers each seller prints (seller_ids), by company group key; a number printed by
    # two sellers (a shopping mall's, a till maker's) names neither and is left out.
    ids: dict[str, str] = field(default_factory=dict)

    # What it was built from, to be built again with more (``extended``): per receipt, the
    # remembered fields' values and the seller numbers its lines print.
    sources: list[tuple[dict[str, str], list[str]]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    given_thresholds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, labels: Iterable[Mapping[str, object]], kinds: Mapping[str, str],
              thresholds: Mapping[str, float] | None = None,
              texts: Iterable[Sequence[str]] | None = None) -> VendorMemory:
        """``texts``: each label's receipt as text lines, to learn the sellers' numbers."""
        return cls._from(_sources(labels, texts, kinds), dict(kinds), dict(thresholds or {}))

    def extended(self, labels: Iterable[Mapping[str, object]],
                 texts: Iterable[Sequence[str]] | None = None) -> VendorMemory:
        """This memory with more corrected receipts: what it was built from and these, as if
        built from all of them at once. A memory saved before it kept its sources is only
        these receipts' and its own, so it is returned as it is."""
        if not getattr(self, "sources", None):
            return self
        return VendorMemory._from(self.sources + _sources(labels, texts, self.kinds),
                                  self.kinds, self.given_thresholds)

    @classmethod
    def _from(cls, sources: list[tuple[dict[str, str], list[str]]], kinds: dict[str, str],
              thresholds: dict[str, float]) -> VendorMemory:
        memory = cls(sources=sources, kinds=kinds, given_thresholds=thresholds)
        owners: dict[str, set[str]] = {}
        company = next((n for n, k in kinds.items() if k == "company"), None)
        address = next((n for n, k in kinds.items() if k == "address"), None)
        for label, numbers in sources:
            found: dict[str, _Group] = {}
            for name, value in label.items():
                kind = kinds[name]
                groups = memory.groups.setdefault(name, [])
                memory.thresholds.setdefault(name, thresholds.get(name, DEFAULT_THRESHOLD[kind]))
                key = normalised(value)
                match = memory._match(name, key, VENDOR_CUTOFF)
                group = match[0] if match else None
                if group is None:
                    group = _Group(key)
                    groups.append(group)
                group.forms[value] += 1
                found[name] = group
            where = label.get(address or "")
            if company in found and where:
                memory.addresses.setdefault(found[company].key, Counter())[where] += 1
            if company in found:
                for number in numbers:
                    owners.setdefault(number, set()).add(found[company].key)
        memory.ids = {n: next(iter(keys)) for n, keys in owners.items() if len(keys) == 1}
        # Addresses only: in names a letter apart is often another name ("GERBANG ALAF",
        # "RESTAURANTS"); SROIE, 150 corrections: names 5 right and 10 wrong more.
        memory.lexicon = Lexicon.build([label for label, _ in sources],
                                       [n for n, k in kinds.items() if k == "address"])
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

    def seller(self, name: str, company: str, lines: Sequence[str] = ()) -> str | None:
        """The key of the seller a company text names, when it is one seen before; else the
        one seller whose numbers the receipt's ``lines`` print."""
        if company.strip():
            match = self._match(name, normalised(company),
                                self.thresholds.get(name, DEFAULT_THRESHOLD["company"]))
            if match:
                return match[0].key
        known = getattr(self, "ids", {})  # a memory saved before numbers were kept has none
        sellers = {known[n] for n in seller_ids(lines) if n in known}
        return sellers.pop() if len(sellers) == 1 else None

    def seller_name(self, name: str, seller: str | None, predicted: str
                    ) -> tuple[str, float] | None:
        """A recognised seller's name as reviewers wrote it, with the predicted name's match
        ratio to it; None where the prediction is that name as printed, not misread."""
        group = next((g for g in self.groups.get(name, ()) if g.key == seller), None)
        if group is None:
            return None
        key = normalised(predicted)
        ratio = float(fuzz.ratio(key, group.key))
        close = ratio >= self.thresholds.get(name, DEFAULT_THRESHOLD["company"])
        if close and abs(_alnum(key) - _alnum(group.value)) > NAME_MISREAD_CHARS:
            # A close name a word longer or shorter is how this receipt prints it ("AEON CO.
            # (M) BHD" against a correction's "AEON CO. (M) SDN BHD"): OCR misreads letters,
            # it does not add a word. A far one (found by its numbers) is a misread header.
            return None
        if not close and _branch_of(predicted, group.value):
            return None
        form = group.form_for(predicted)
        written = normalised(form)
        if key != written and key.replace(".", "") == written.replace(".", ""):
            # Only full stops apart ("MR D.I.Y." / "MR. D.I.Y.", "SDN. BHD." / "SDN BHD"): the
            # seller, named as this receipt prints it, which reviewers copy (OCR's stray marks,
            # a colon or a dash, are misreads the form undoes).
            return predicted, ratio
        return form, ratio

    def seller_address(self, seller: str | None, predicted: str) -> tuple[str, float] | None:
        """The seller's remembered address closest to the predicted one (a chain's branches
        differ), with its match ratio, when close enough to be that address misread."""
        # getattr: a memory saved before addresses were kept has none.
        forms = getattr(self, "addresses", {}).get(seller or "")
        if not forms or not predicted.strip():
            return None
        if not _numbers(predicted):
            return None  # nothing that tells branches apart: only a close match (recall)
        key = normalised(predicted)
        # Branches share a street's words and a town's postcode; their numbers tell them
        # apart. Every number read must be the form's (a line missed drops some, none is new),
        # but for one misread digit.
        fitting = [(fuzz.ratio(key, normalised(f)), f) for f in forms
                   if _numbers_fit(predicted, f)]
        if not fitting:
            return None
        ratio, form = max(fitting)
        return (form, float(ratio)) if ratio >= SELLER_ADDRESS_CUTOFF else None

    def wants_branch_row(self, seller: str | None, predicted: str) -> bool:
        """Whether the seller's reviewers write, after the address read, the row of the
        branch it came from: their addresses that begin as ``predicted`` mostly go on, each
        branch in its own words."""
        forms = getattr(self, "addresses", {}).get(seller or "")
        key = normalised(predicted)
        if not forms or not key:
            return False
        tails: set[str] = set()
        longer = stop = 0
        for form, count in forms.items():
            text = normalised(form)
            if fuzz.ratio(text[:len(key)], key) < BRANCH_BODY_RATIO:
                continue
            tail = text[len(key):]
            if len(tail) >= MIN_TAIL_CHARS:
                tails.add(tail)
                longer += count
            else:
                stop += count
        return len(tails) >= BRANCH_TAILS and longer > stop

    def recall(self, name: str, predicted: str, same_numbers: bool = False
               ) -> tuple[str, float] | None:
        """The remembered value for a predicted one, with its match ratio, or None.
        ``same_numbers``: only a value holding every number the prediction holds (an address:
        another branch on the same street differs in its numbers, not in its words)."""
        if name not in self.groups or not predicted.strip():
            return None
        match = self._match(name, normalised(predicted), self.thresholds[name])
        if match is None or (same_numbers and not _numbers_fit(predicted, match[0].value)):
            return None
        return match[0].form_for(predicted), match[1]

    def spell(self, name: str, predicted: str) -> str:
        """The predicted value with its words spelled as reviewers wrote them (``lexicon``)."""
        lexicon = getattr(self, "lexicon", None)  # a memory saved before spelling has none
        return lexicon.repair(name, predicted) if lexicon is not None else predicted

    @property
    def fields(self) -> list[str]:
        return list(self.groups)


def _sources(labels: Iterable[Mapping[str, object]], texts: Iterable[Sequence[str]] | None,
             kinds: Mapping[str, str]) -> list[tuple[dict[str, str], list[str]]]:
    """Per receipt, its remembered fields' values (the non-empty ones) and the seller numbers
    its lines print: what a memory is built from."""
    labels = list(labels)
    texts = list(texts) if texts is not None else [[] for _ in labels]
    remembered = [n for n, k in kinds.items() if k in REMEMBERED_KINDS]
    return [({n: v for n in remembered if isinstance(v := label.get(n), str) and v},
             sorted(seller_ids(lines)))
            for label, lines in zip(labels, texts, strict=True)]


def _alnum(text: str) -> int:
    return sum(c.isalnum() for c in text)


def _branch_of(predicted: str, name: str) -> bool:
    """``predicted`` reads as another branch of the chain ``name``: it begins as the name does,
    then goes on in other words ("BHPETROL SUBANG AIRPORT" for "BHPETROL PERMAS JAYA 2"). A
    chain's branches print its tax or phone number; a name cut short or misread at its end
    ("AIK HUAT HARDWAKE") is still this one."""
    ours, theirs = normalised(predicted), normalised(name)
    common = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b),
                  min(len(ours), len(theirs)))
    rest, their_rest = ours[common:], theirs[common:]
    return (common >= BRANCH_MIN_CHARS and len(rest) >= BRANCH_MIN_CHARS
            and fuzz.ratio(rest, their_rest) < BRANCH_REST_RATIO)


def seller_ids(lines: Iterable[str]) -> set[str]:
    """The numbers a receipt prints that could name its seller (dates left out), as digits
    and letters only: "CO REG 273500-U" -> "273500U"."""
    found = set()
    for line in lines:
        for m in SELLER_ID_RE.finditer(line.upper()):
            text = m.group()
            digits = sum(c.isdigit() for c in text)
            long_enough = digits >= (REGISTRATION_DIGITS if text[-1].isalpha()
                                     else SELLER_ID_DIGITS)
            distinct = len(set(text) & set("0123456789"))
            if long_enough and distinct >= SELLER_ID_DISTINCT and not has_date(text):
                found.add(re.sub(r"[^0-9A-Z]", "", text))
    return found


def _numbers_fit(predicted: str, form: str) -> bool:
    """Every number of ``predicted`` is one of ``form``'s, but for at most one misread digit
    ("43600" for "43800", "29O" for "290"): a remembered address of the same place. Another
    branch on the same street differs in more ("NO.12 ... PERMAS JAYA 10" is not "NO.17 ...
    PERMAS 1/7")."""
    ours, theirs = _numbers(_zero_for_o(predicted)), _numbers(_zero_for_o(form))
    missing = ours - theirs
    if len(missing) > 1:
        return False
    return not missing or any(
        len(n) == len(m) and Hamming.distance(n, m) == 1 for m in missing for n in theirs - ours)


def _zero_for_o(text: str) -> str:
    """A letter O read beside digits is a zero ("29O"), but in "NO1"."""
    return O_BY_DIGIT_RE.sub("0", text)


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+", text))
