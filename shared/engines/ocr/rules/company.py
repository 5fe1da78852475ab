"""The seller's name: the first printed row(s) of the header."""

from __future__ import annotations

from shared.engines.base import FieldValue
from shared.engines.ocr.rules.header import (
    COMPANY_SUFFIX_RE,
    LEADING_CODE_RE,
    TRAILING_REG_RE,
    find_header,
)
from shared.engines.ocr.rules.rows import Row, union_box


def extract_company(rows: list[Row]) -> FieldValue:
    """The company rows of the header, joined with spaces.

    Confidence is higher when the name ends with a legal-form/trade word (SDN BHD, ENTERPRISE...)
    and when the address was found right below it (the header then parsed as expected).
    """
    header = find_header(rows)
    if not header.company:
        return FieldValue("", 0.0, None)
    text = " ".join(row.text for row in header.company)
    text = TRAILING_REG_RE.sub("", LEADING_CODE_RE.sub("", text)).strip()
    confidence = 0.45
    if COMPANY_SUFFIX_RE.search(text):
        confidence += 0.3
    if header.postcode_found:
        confidence += 0.15
    confidence *= min(row.score for row in header.company)
    box = union_box([row.box for row in header.company])
    return FieldValue(text, round(min(confidence, 1.0), 4), box)
