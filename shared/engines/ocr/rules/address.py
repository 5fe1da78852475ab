"""The seller's address: the header rows after the company, up to the postcode row."""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared.engines.base import FieldValue
from shared.engines.ocr.rules.header import MALAYSIAN_STATES, address_text, find_header
from shared.engines.ocr.rules.rows import Row, union_box

# Malaysian addresses separate their parts with commas, which thermal print makes hard to tell
# from full stops. In SROIE's labels a full stop after a number or a whole word, before the
# next part, is there 15 times; a comma 1,278 times. OCR reads such a stop in 36 of SROIE's
# 435 addresses, so in an address that reads Malaysian it is taken as the comma. An
# abbreviation keeps its stop ("NO.53", "P.T.", "SEK.U3"; "BLVD." is American).
MALAYSIAN_RE = re.compile(
    r"\b(JALAN|JLN|TAMAN|TMN|LORONG|LRG|KAWASAN|SEKSYEN|BANDAR|PERSIARAN|LEBUH(RAYA)?|MALAYSIA"
    rf"|{MALAYSIAN_STATES})\b", re.IGNORECASE)
READ_AS_STOP_RE = re.compile(
    r"(?<=[A-Z]{4})\.(?=\s*[A-Z0-9])(?!\s*[A-Z]\.)|(?<=\d)\.(?=\s*[A-Z]|\s+\d)", re.IGNORECASE)


def address_value(parts: Iterable[str]) -> str:
    """Rows' address parts (``address_text``) as one address: joined with spaces (the rows
    carry their own commas), a Malaysian address's misread commas put back."""
    text = " ".join(part for part in parts if part)
    return READ_AS_STOP_RE.sub(",", text) if MALAYSIAN_RE.search(text) else text


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
