"""The seller's address: the header rows after the company, up to the postcode row."""

from __future__ import annotations

from shared.engines.base import FieldValue
from shared.engines.ocr.rules.header import address_text, find_header
from shared.engines.ocr.rules.rows import Row, union_box


def extract_address(rows: list[Row]) -> FieldValue:
    """The address rows joined with spaces (the rows already carry their own commas).

    Confidence is high only when a postcode row closed the address: without it the end of the
    address is a guess.
    """
    header = find_header(rows)
    parts = [address_text(row) for row in header.address]
    parts = [part for part in parts if part]
    if not parts:
        return FieldValue("", 0.0, None)
    confidence = 0.85 if header.postcode_found else 0.35
    if not header.company:
        confidence -= 0.15
    confidence *= min(row.score for row in header.address)
    box = union_box([row.box for row in header.address])
    return FieldValue(" ".join(parts), round(max(confidence, 0.05), 4), box)
