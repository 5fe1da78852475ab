"""Spelling from corrections: the words reviewers wrote in addresses, used to undo
one-character OCR misreads in the addresses of sellers never seen before.

The vendor memory (``vendors.py``) repairs a known seller's whole name or address. A new
seller's address still shares its words with the corrected ones: a state, a town, "JALAN",
"TAMAN", "PERINDUSTRIAN". OCR misreads such a word by one character again and again: a dot in
the middle ("L.OT", "KUALA L.UMPUR"), an accent on a Latin capital ("SÉLANGOR"), a letter for
a like one ("SHAH ALAN", "BIK 2"). A word of a predicted value that reviewers never wrote, one
edit away from exactly one word they wrote at least ``MIN_COUNT`` times, becomes that word; a
word the dictionary knows (``spelling.zipf``), only where they wrote it ``MIN_COUNT_OVER_WORD``
times.
Words with digits are left alone: numbers tell one address from another, and a misread number
is not a spelling. Words OCR glued after a comma ("G3,BIK") are spelled one by one and stay
glued.

Punctuation too: OCR reads a printed comma as a full stop ("NO. 47. JALAN MERANTI 1A. BANDAR
BARU"). A word that reviewers wrote followed by a comma at least ``MIN_COUNT`` times and
``COMMA_ODDS`` times as often as by a full stop (inside the value, not at its end) keeps its
comma when OCR read a full stop after it. Numbers count by shape ("47", "1A", "3/9": "9",
"9A", "9/9"), so a house number's comma is learned from every house number. And a full stop
before a number stands for a comma where reviewers wrote one before numbers of that many
digits (``before``): "OFF JALAN PUDU. 55100" is "PUDU, 55100" (SROIE: 222 commas and 6 full
stops before a postcode), whatever the town's name. A number glued to the next word by a
full stop reviewers never write after such a number is parted as they write it ("81750.JOHOR"
-> "81750 JOHOR", ``after_number``).

Letters and digits read for each other: a word with a 1 or 0 that reads as a word reviewers
wrote with L and O is that word ("MA11" -> "MALL", "LEVE1" -> "LEVEL", "10T" -> "LOT"); and
where reviewers never put a letter O beside a digit (but in "NO1"), an O read there is a zero
("G3O" -> "G30"). Postcodes of other countries do hold one ("SO14"): learned, not assumed.
Likewise a word with an I that reads as a word reviewers wrote with an L ("BIK" -> "BLK", "JAIAN"
-> "JALAN"), short words included: the one look-alike pair is no guess among neighbours.

Specks before a word that reviewers never write there ("'SELANGOR", '"TEBRAU': OCR reads dirt as
a quote) go, once they wrote ``MIN_VALUES`` values of the field.

Accents: OCR puts them on plain capitals ("SETIA ÁLAM", "CHÉRAS", "JAĪAN"). Where reviewers
wrote at least ``MIN_VALUES`` values of a field and not one letter outside ASCII, the accents of
a predicted value are dropped ("ÁLAM" -> "ALAM"); a field whose reviewers keep them keeps them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from shared.engines.ocr.spelling import strip_accents, zipf

# Only words reviewers wrote this often are trusted as the right spelling.
MIN_COUNT = 2
# A word the dictionary knows ("PINANG", "SATU", "SINAR", "ALAN") is a misread only of a word
# reviewers wrote this often ("SHAH ALAM"); of a rarer one it is likelier a word of its own
# ("JALAN PINANG" is no "PENANG", "TMN SRI SINAR" no "DINAR").
MIN_COUNT_OVER_WORD = 20
# Shorter words have too many one-edit neighbours ("SEK", "SEL", "JLN") to be corrected.
MIN_LENGTH = 4
# A full stop after a word is a misread comma when reviewers wrote a comma this much more often.
COMMA_ODDS = 4
# OCR's digits for like letters, and the letter O it reads for a zero beside digits.
DIGIT_LETTERS = str.maketrans("10", "LO")
O_BY_DIGIT_RE = re.compile(r"(?<=\d)O|(?<!N)O(?=\d)", re.IGNORECASE)
GLUED_NUMBER_RE = re.compile(r"(\d+)\.([A-Za-z]\S*)")
GLUED_COMMA_RE = re.compile(r"(?<=\w,)(?=\w)")
# An O beside a digit is read as a zero once reviewers wrote this many numbers with letters
# ("G30", "U13/BG") and never one with such an O.
MIN_CODES = 20
# Reviewers wrote this many values of a field, none with a letter outside ASCII: accents that OCR
# reads are dropped.
MIN_VALUES = 20
# Marks OCR reads from a speck of dirt: dropped before a word where reviewers never write them
# there ("#02-03" keeps its "#").
SPECKS = frozenset("'\"‘’“”`´·.,:;")
# OCR's I for a like L, in words of letters only ("BIK", "JAIAN").
I_FOR_L = str.maketrans("I", "L")
# A word's own punctuation stays: "SELANGOR." keeps its full stop, "ALAN," its comma.
_EDGE_RE = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)


@dataclass
class Lexicon:
    """Per field: how often reviewers wrote each word (punctuation at its edges stripped)."""

    words: dict[str, Counter[str]] = field(default_factory=dict)
    # Per field: by word (numbers by shape), what reviewers wrote right after it inside a value.
    after: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    # Per field: by the digits of the number that follows ("55100" -> "99999"), what reviewers
    # wrote right before it.
    before: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    # Per field: by a number's digits, what reviewers wrote right after it ("81750 JOHOR": "").
    after_number: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    # Per field: words of letters and digits reviewers wrote, and those with an O by a digit.
    codes: Counter[str] = field(default_factory=Counter)
    o_by_digit: Counter[str] = field(default_factory=Counter)
    # Per field: values reviewers wrote, and those with a letter outside ASCII.
    values: Counter[str] = field(default_factory=Counter)
    accented: Counter[str] = field(default_factory=Counter)
    # Per field: the marks reviewers wrote before a word ("(" of "(M)"), each counted.
    leads: dict[str, Counter[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, labels: Iterable[Mapping[str, object]], names: Iterable[str]) -> Lexicon:
        lexicon = cls()
        names = list(names)
        for label in labels:
            for name in names:
                value = label.get(name)
                if not isinstance(value, str):
                    continue
                lexicon.values[name] += 1
                lexicon.accented[name] += any(ch.isalpha() and not ch.isascii() for ch in value)
                tokens = value.split()
                counts = lexicon.words.setdefault(name, Counter())
                counts.update(w for w in map(_core, tokens) if w)
                lexicon.leads.setdefault(name, Counter()).update(
                    ch for token in tokens for ch in _parts(token)[0])
                for word in filter(_is_code, map(_core, tokens)):
                    lexicon.codes[name] += 1
                    lexicon.o_by_digit[name] += bool(O_BY_DIGIT_RE.search(word))
                after = lexicon.after.setdefault(name, {})
                before = lexicon.before.setdefault(name, {})
                for token, following in pairwise(tokens):
                    _lead, core, trail = _parts(token)
                    if core:
                        after.setdefault(_shape(core), Counter())[trail] += 1
                    if core and (number := _number_shape(following)):
                        before.setdefault(number, Counter())[trail] += 1
                    if number := _number_shape(token):
                        lexicon.after_number.setdefault(name, {}).setdefault(
                            number, Counter())[trail] += 1
        return lexicon

    def repair(self, name: str, text: str) -> str:
        """``text`` with each word that is one edit from exactly one trusted word (one of its
        own length, where there is), and is not itself a word reviewers wrote, spelled as they
        wrote it."""
        counts = self.words.get(name)
        if not counts or not text:
            return text
        trusted = [w for w, n in counts.items() if n >= MIN_COUNT]
        after = self.after.get(name, {})
        before = getattr(self, "before", {}).get(name, {})  # saved before it was kept: none
        # getattr: a lexicon saved before these were kept has none.
        learned = getattr(self, "values", Counter())[name] >= MIN_VALUES
        leads = getattr(self, "leads", {}).get(name, Counter())
        if learned and not self.accented[name]:
            text = strip_accents(text)
        tokens, glued = [], []  # glued: the token was followed by no space (after a comma)
        for token in " ".join(self._unglued(name, t) for t in text.split(" ")).split(" "):
            # Words OCR glued after a comma ("G3,BIK", "HQ:7,J1N") are spelled one by one.
            pieces = GLUED_COMMA_RE.split(token)
            tokens.extend(pieces)
            glued.extend([True] * (len(pieces) - 1) + [False])
        out = []
        for i, token in enumerate(tokens):
            lead, core, trail = _parts(token)
            if learned and core:  # a speck OCR read before a word ("'SELANGOR", '"TEBRAU')
                lead = "".join(ch for ch in lead if ch not in SPECKS or leads[ch])
            seen = after.get(_shape(core))
            if trail == "." and i < len(tokens) - 1 and core and (
                    _comma_more(seen) or (_comma_more(before.get(_number_shape(tokens[i + 1])))
                                          and not _abbreviation(core, seen))):
                trail = ","
            if _is_code(core) and core not in counts:
                core = self._letters_or_zeros(name, core, counts)
            elif core.isalpha() and core not in counts and counts[core.translate(I_FOR_L)] >= (
                    MIN_COUNT):
                core = core.translate(I_FOR_L)
            if len(core) >= MIN_LENGTH and core not in counts and not any(
                    c.isdigit() for c in core):
                near = [w for w, _d, _i in process.extract(
                    core, trusted, scorer=Levenshtein.distance, score_cutoff=1, limit=None)]
                # A misread letter is likelier than one read from nothing: "ALAN" is "ALAM",
                # not "JALAN".
                same = [w for w in near if len(w) == len(core)]
                if len(same) == 1 or (not same and len(near) == 1):
                    word = (same or near)[0]
                    if not zipf(core) or counts[word] >= MIN_COUNT_OVER_WORD:
                        core = word
            out.append(lead + core + trail + ("" if glued[i] else " "))
        return "".join(out)[:-1] if out else ""

    def _unglued(self, name: str, token: str) -> str:
        """A number glued to the next word by a full stop reviewers never write after such a
        number, parted as they write it ("81750.JOHOR" -> "81750 JOHOR")."""
        m = GLUED_NUMBER_RE.fullmatch(token)
        if m is None:
            return token
        # getattr: a lexicon saved before these were kept has none.
        seen = getattr(self, "after_number", {}).get(name, {}).get(_number_shape(m.group(1)))
        if seen is None or seen["."] or sum(seen.values()) < MIN_COUNT:
            return token
        trail = seen.most_common(1)[0][0]
        return f"{m.group(1)}{trail} {m.group(2)}"

    def _letters_or_zeros(self, name: str, core: str, counts: Counter[str]) -> str:
        """A word of letters and digits as reviewers would write it: its 1s and 0s as L and O
        where that makes a word they wrote, else its Os beside digits as zeros where they never
        wrote one."""
        word = core.translate(DIGIT_LETTERS)
        if word.isalpha() and counts[word] >= MIN_COUNT:
            return word
        # getattr: a lexicon saved before these were kept has none.
        codes, by_digit = getattr(self, "codes", Counter()), getattr(self, "o_by_digit", Counter())
        if codes[name] >= MIN_CODES and not by_digit[name]:
            return O_BY_DIGIT_RE.sub("0", core)
        return core


def _is_code(core: str) -> bool:
    """A word with both letters and digits ("G30", "MA11", "SS21/58")."""
    return any(c.isdigit() for c in core) and any(c.isalpha() for c in core)


def _comma_more(seen: Counter[str] | None) -> bool:
    """Reviewers wrote a comma here often, and much more often than a full stop."""
    return seen is not None and seen[","] >= MIN_COUNT and seen[","] >= COMMA_ODDS * seen["."]


def _abbreviation(core: str, seen: Counter[str] | None) -> bool:
    """A word whose full stop is its own: dotted inside ("P.T. 33198") or written with one by
    reviewers ("NO. 12345")."""
    return "." in core or (seen is not None and seen["."] >= MIN_COUNT)


def _number_shape(token: str) -> str:
    """A number's digits as nines ("55100," -> "99999"); "" for a token that is not one."""
    core = _core(token)
    return "9" * len(core) if core.isdigit() else ""


def _parts(word: str) -> tuple[str, str, str]:
    """(punctuation before, the word, punctuation after)."""
    return _EDGE_RE.match(word).groups()  # type: ignore[union-attr, return-value]


def _core(word: str) -> str:
    return _parts(word)[1]


def _shape(core: str) -> str:
    return re.sub(r"\d+", "9", core)
