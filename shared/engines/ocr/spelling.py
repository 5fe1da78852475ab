"""Look-alike digits, made-up accents and misread letters in OCR's words, undone with a
dictionary of the world's words.

OCR reads an L or an I as a 1, an O as a 0, an S as a 5, in words of any language: "Dal1as",
"Clerkenwe11", "Lew1s", "Mumba1", "CL0SED", "INV0ICE". A word that mixes letters with those
digits, and reads as a common word once they are letters, is that word. The words and their
frequencies come from wordfreq (a pip package that ships them: web, books, subtitles and
Wikipedia, for many languages; the ones in ``LANGUAGES`` cover the receipts this product has
seen), so it works on a seller's first receipt, before any correction (``lexicon.py`` learns
the spellings reviewers write; ``vendors.py`` a seller's whole name and address).

A digit after a word stays a number when the word is common on its own ("TAX1", "POS1",
"Guest5"): it is likelier a tax band or a till than a misread letter ("Tota1" is "Total":
"tota" is rare). Words of fewer than ``MIN_LETTERS`` letters ("E1", "SE1", "B03": postcodes,
units) are left alone, but for a zero among two letters ("0LD", "R0C"), which no postcode
prints. OCR also puts accents on capitals of print that has none ("SETIA ÁLAM", "SÉLANGOR"):
an unknown word that is a common one without them loses them. And a long unknown word one
letter away from exactly one English word is that word ("HARDWAKE", "BUARDIAN"): shorter ones
are names as often. An M OCR split into R and N is put back where that makes a common word
("UTARNA", "Itern"). A speck read inside a word goes: a colon or underscore for a letter
("JA:AN", "SE_ANGOR"), or an underscore for the space between two words where no letter
makes one ("AIK_HUAT"); a full stop after its first letter ("L.ot"). Only OCR's lines are
respelled; a PDF's own text is exact.
"""

from __future__ import annotations

import itertools
import re
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from functools import cache

from shared.documents.lines import TextLine

# Languages whose words are looked up: Malaysian receipts (SROIE), and the US, UK and European
# ones of WildReceipt. English also holds the world's place and brand names.
LANGUAGES = ("en", "ms", "id", "fr", "es", "de", "it", "nl", "pt")
# A word this common (Zipf scale: 2 is once in 10 million words, "clerkenwell" 2.4, "dallas"
# 4.4) is a word; rarer ones are as likely a code or a name OCR read right.
MIN_ZIPF = 2.0
# Each look-alike digit and the letters it is read for.
LOOK_ALIKES = {"1": "li", "0": "o", "5": "s"}
MIN_LETTERS = 3
# More than this many look-alike digits in one word: a code ("A1B0C1"), not a word.
MAX_DIGITS = 3
# A letter misread is put right only in a word this long, unknown, one letter away from exactly
# one English word this common ("confectionery" 3.0, "bakeries" 2.9): shorter words are names
# as often ("ADVANCO", "GURNEE" read "ADVANCE", "GURNEY"), rarer words places ("PALEMBANG").
MIN_MISREAD = 8
MIN_MISREAD_ZIPF = 2.5
# A mark between the letters of a word, not after another mark or before one ("P.T.", "U.S.A"):
# a speck OCR read into the word. A colon or underscore read for a letter is put right only
# where that makes a word this long.
MARK_IN_WORD_RE = re.compile(
    r"(?<![\w.:'_])([^\W\d_]+)([.:_])([^\W\d_]+)(?![\w:'_]|\.[^\W\d_])")
MIN_MARKED = 5
# An M read as "rn" is put back only in a word this long: "DRNK", "ORNG" are abbreviations.
MIN_RN = 5
# A full stop after a word's first letter is a speck where the whole word is this much commoner
# (Zipf) than the part after it ("L.ot": "lot" 5.6, "ot" 3.8; "T.No" and "P.IVA" stay).
SPECK_MARGIN = 1.5
# A run of letters and digits: a word as OCR read it, between spaces and punctuation.
WORD_RE = re.compile(r"[^\W_]+")


@cache
def _frequencies(languages: tuple[str, ...], floor: float = MIN_ZIPF) -> dict[str, float]:
    """Every word of ``languages`` at least ``floor`` common, lower case, with its Zipf
    frequency in the language that uses it most. Read once per process and list (1-2 s,
    about 120 MB at its peak for ``LANGUAGES``; English's whole list, 320,000 words, 0.2 s and
    60 MB); wordfreq's own caches would keep every language's whole list."""
    from wordfreq import available_languages, read_cBpack

    paths = available_languages("best")
    zipf: dict[str, float] = {}
    for lang in languages:
        # Buckets of words by frequency, most common first: bucket i holds words of Zipf
        # 9 - i/100 (wordfreq's centibel scale).
        for i, bucket in enumerate(read_cBpack(paths[lang])):
            value = 9.0 - i / 100.0
            if value < floor:
                break
            for word in bucket:
                if word.isalpha() and zipf.get(word, 0.0) < value:
                    zipf[word] = value
    return zipf


def zipf(word: str) -> float:
    """How common a word is (Zipf scale, 0 when unknown or rarer than ``MIN_ZIPF``)."""
    return _frequencies(LANGUAGES).get(word.lower(), 0.0)


def _unaccented(word: str) -> str:
    """The word without the accents OCR puts on capitals and letters of Latin script where
    the print has none ("ÁLAM", "SÉLANGOR", "Totäl"): an unknown word that is a common one
    without them. A word the language writes with them ("Média", "ÉPICERIE") is known, and
    kept."""
    if word.isascii() or zipf(word) > 0:
        return word
    plain = strip_accents(word)
    return plain if plain.isascii() and zipf(plain) > 0 else word


def strip_accents(text: str) -> str:
    """``text`` without the accents on its letters ("ÁLAM" -> "ALAM"); letters that are no
    accented Latin letter ("ß") stay."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch))


def _misread_letter(word: str) -> str:
    """A long unknown word with one letter misread, where that letter makes exactly one
    English word ("HARDWAKE", "BUARDIAN", "CONFECTIUNERY", "SCLANGOR"); the word itself
    otherwise. English, because trade words are printed in English the world over, while a
    place's name sits among its own language's words ("PALEKBANG" is no "PALEMBANG")."""
    if len(word) < MIN_MISREAD or not (word.isalpha() and word.isascii()) or zipf(word) > 0:
        return word
    lower = word.lower()
    english = _frequencies(("en",), 0.0)  # all its 320,000 words: a rare one is no misread
    if lower in english:
        return word
    found = {lower[:i] + letter + lower[i + 1:] for i in range(len(lower))
             for letter in string.ascii_lowercase if letter != lower[i]}
    found = {candidate for candidate in found if english.get(candidate, 0.0) >= MIN_MISREAD_ZIPF}
    if len(found) != 1:
        return word
    (best,) = found
    return "".join(b.upper() if w.isupper() else b for w, b in zip(word, best, strict=True))


def _m_read_as_rn(word: str) -> str:
    """An unknown word where OCR split an M into R and N ("UTARNA", "Tirnes"): the common word
    it is with that M back (exactly one such word); the word itself otherwise."""
    if "rn" not in word.lower() or len(word) < MIN_RN or zipf(word) > 0:
        return word
    found = {word[:m.start()] + ("M" if word[m.start()].isupper() else "m") + word[m.end():]
             for m in re.finditer("rn", word, re.IGNORECASE)}
    found = {w for w in found if zipf(w) > 0}
    return found.pop() if len(found) == 1 else word


def respell_word(word: str) -> str:
    """The word with its look-alike digits read as the letters that make it a common word,
    without accents OCR made up (``_unaccented``), with an M split into "rn" put back
    (``_m_read_as_rn``) and a misread letter put right (``_misread_letter``); the word itself
    when none does."""
    word = _misread_letter(_m_read_as_rn(_unaccented(word)))
    digits = sum(c in LOOK_ALIKES for c in word)
    # A zero among two letters is an O ("0LD", "0RG"): no postcode or unit mixes them so.
    least = MIN_LETTERS - 1 if set(word) & set(LOOK_ALIKES) == {"0"} else MIN_LETTERS
    if (not digits or digits > MAX_DIGITS or sum(c.isalpha() for c in word) < least
            or not all(c.isalpha() or c in LOOK_ALIKES for c in word)):
        return word
    best, best_zipf = None, MIN_ZIPF
    for letters in itertools.product(*(LOOK_ALIKES.get(c, c.lower()) for c in word)):
        found = zipf("".join(letters))
        if found >= best_zipf:
            best, best_zipf = "".join(letters), found
    if best is None:
        return word
    # A number after a common word is a number ("TAX1"), unless the whole reads commoner.
    stem = word.rstrip("".join(LOOK_ALIKES))
    if stem != word and zipf(stem) >= best_zipf:
        return word
    return "".join(_like_case(b, word, i) if c in LOOK_ALIKES else c
                   for i, (c, b) in enumerate(zip(word, best, strict=True)))


def as_cased(word: str, like: str) -> str:
    """``word`` (upper case), put in for a misread one, in the case of the word it replaces."""
    return word if like.isupper() else word.capitalize()


def _like_case(letter: str, word: str, index: int) -> str:
    """The letter in the case of its nearest letter in the word (the one before it first)."""
    for j in [*range(index - 1, -1, -1), *range(index + 1, len(word))]:
        if word[j].isalpha():
            return letter.upper() if word[j].isupper() else letter
    return letter


def _mark_in_word(match: re.Match[str]) -> str:
    """A word with a speck OCR read inside it: a colon or an underscore for a letter ("JA:AN",
    "SE_ANGOR"), a full stop after its first letter ("L.ot", "L.UMPUR"); the text as read
    where no common word comes of it ("P.IVA", "S.Tax") or a letter is left alone on a side
    of a colon ("S:GST", "CIF:A": codes)."""
    left, mark, right = match.groups()
    if mark == ".":
        word = left + right
        if len(left) == 1 and zipf(word) >= zipf(right) + SPECK_MARGIN:
            return word
        return match.group()
    words = [left + letter + right for letter in string.ascii_lowercase]
    best = max(words, key=zipf)
    if min(len(left), len(right)) >= 2 and len(best) >= MIN_MARKED and zipf(best) > 0:
        return best[:len(left)] + (best[len(left)].upper() if right[:1].isupper() else
                                   best[len(left)]) + right
    if mark == "_" and min(len(left), len(right)) >= 2:
        return f"{left} {right}"  # no letter: the space between two words ("AIK_HUAT")
    return match.group()


def respell(text: str) -> str:
    text = MARK_IN_WORD_RE.sub(_mark_in_word, text)
    return WORD_RE.sub(lambda m: respell_word(m.group()), text)


def respell_lines(lines: Sequence[TextLine]) -> list[TextLine]:
    """OCR's lines with look-alike digits in words read as letters."""
    out = []
    for line in lines:
        text = respell(line.text)
        out.append(line if text == line.text else replace(line, text=text))
    return out
