"""The seller's address: the header rows after the company, up to the postcode row."""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared.documents.rows import Row, union_box
from shared.engines.base import FieldValue
from shared.engines.ocr.rules.header import (
    MALAYSIAN_STATE_NAMES,
    MALAYSIAN_STATES,
    address_text,
    find_header,
)
from shared.engines.ocr.rules.phrases import listed_words
from shared.engines.ocr.rules.places import TOWN_WORDS, respell_towns
from shared.engines.ocr.spelling import as_cased

# The words of Malaysian streets and areas, and their abbreviations.
STREET_WORDS = ("JALAN", "TAMAN", "LORONG", "KAWASAN", "SEKSYEN", "BANDAR", "PERSIARAN",
                "LEBUH", "LEBUHRAYA")
STREET_ABBREVIATIONS = ("JLN", "TMN", "LRG")
# Malaysian addresses separate their parts with commas, which thermal print makes hard to tell
# from full stops. In SROIE's labels a full stop after a number or a whole word, before the
# next part, is there 15 times; a comma 1,278 times. OCR reads such a stop in 36 of SROIE's
# 435 addresses, so in an address that reads Malaysian it is taken as the comma. An
# abbreviation keeps its stop ("NO.53", "P.T.", "SEK.U3"; "BLVD." is American).
MALAYSIAN_RE = re.compile(
    rf"\b({'|'.join(STREET_WORDS + STREET_ABBREVIATIONS)}|MALAYSIA|{MALAYSIAN_STATES})\b",
    re.IGNORECASE)
READ_AS_STOP_RE = re.compile(
    r"(?<=[A-Z]{4})\.(?=\s*[A-Z0-9])(?!\s*[A-Z]\.)|(?<=\d)\.(?=\s*[A-Z]|\s+\d)"
    # After a number with its letter ("JALAN MERANTI 1A. BANDAR"), before the next word.
    r"|(?<=\d[A-Z])\.(?=\s+[A-Z]{2})", re.IGNORECASE)
# An O read for a zero at the end of a number or among its digits: street and unit numbers,
# postcodes ("NO 29O", "G3O", "4380O"). Not in a word ("NO1", "H1OHWAY").
O_FOR_ZERO_RE = re.compile(r"(?<=\d)[Oo](?=\d|[^\w]|$)")
# A quote mark or speck before a word, where the address has no closing one ("ALAM,'SELANGOR").
SPECK_RE = re.compile(r"(?:(?<=[\s,])|^)['\"`](?=[^\W\d_])")
# The words Malaysian addresses are made of (their street words, states, "DARUL EHSAN"): an
# unknown word one letter away from exactly one of them is that word, misread ("JALAU",
# "TANAN", "FLEOR", "DIARUL", "BALAKUNG").
MALAYSIAN_WORDS = frozenset({
    *STREET_WORDS, *(word for name in MALAYSIAN_STATE_NAMES for word in name.split()),
    *TOWN_WORDS, "BATU", "BARU", "JAYA", "FLOOR", "MALAYSIA", "DARUL", "EHSAN"})
# The street abbreviations' usual misreads: an L read as I or 1, an M as NN, an O as D or C
# ("JIN", "BIK", "TNN", "ND 2,", "CFF JALAN"); no word of an address's languages.
ABBREVIATION_MISREADS = {"JIN": "JLN", "J1N": "JLN", "BIK": "BLK", "TNN": "TMN", "ND": "NO",
                         "CFF": "OFF"}
ABBREVIATION_RE = re.compile(rf"\b({'|'.join(ABBREVIATION_MISREADS)})\b", re.IGNORECASE)
# An address that starts with a lot's number ("LOT 1504", "LOT P.T. 2811") and OCR's reads of
# its word: "LUI", "LEG", "LOP", "L0T", a word of its own before the number. "LVL" (a level) is
# no lot, nor a unit's code ("LG226").
LOT_MISREAD_RE = re.compile(r"^L(?!OT\b|VL\b)[A-Z0]{2}(?=\s+(\d|P\.?\s?T\b))", re.IGNORECASE)


def address_value(parts: Iterable[str]) -> str:
    """Rows' address parts (``address_text``) as one address: joined with spaces (the rows
    carry their own commas), an O among digits read as the zero it is, quote specks before
    words dropped, and a Malaysian address's misread words, towns (``places.py``) and commas
    put back."""
    text = O_FOR_ZERO_RE.sub("0", " ".join(part for part in parts if part))
    if text.count("'") + text.count('"') == len(SPECK_RE.findall(text)):
        text = SPECK_RE.sub("", text)
    if not MALAYSIAN_RE.search(text):
        return text
    text = ABBREVIATION_RE.sub(lambda m: as_cased(ABBREVIATION_MISREADS[m.group().upper()],
                                                   m.group()), text)
    text = LOT_MISREAD_RE.sub(lambda m: as_cased("LOT", m.group()), text)
    text = listed_words(respell_towns(text), MALAYSIAN_WORDS)
    return READ_AS_STOP_RE.sub(",", text)


def extract_address(rows: list[Row]) -> FieldValue:
    """The header's address rows as ``address_value`` reads them.

    Confidence is high only when a postcode row closed the address: without it the end of the
    address is a guess.
    """
    header = find_header(rows)
    text = address_value(map(address_text, header.address))
    if not text:
        return FieldValue("", 0.0, None)
    confidence = 0.85 if header.postcode_found else 0.35
    if not header.company:
        confidence -= 0.15
    confidence *= min(row.score for row in header.address)
    box = union_box([row.box for row in header.address])
    return FieldValue(text, round(max(confidence, 0.05), 4), box)
