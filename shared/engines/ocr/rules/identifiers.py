"""The receipt's number and the seller's phone number, after their labels."""

from __future__ import annotations

import re

from shared.documents.rows import Row
from shared.engines.base import FieldValue

NUMBER_LABEL_RE = re.compile(
    r"(RECEIPT|INVOICE|INV|BILL|DOC(UMENT)?|SLIP|TRANS(ACTION)?|ORDER|CHECK|TICKET|BELEG|"
    r"RECHNUNG|FACTURE|TICKET)\s*(NO|NUMBER|NUM|#|NR)?\.?\s*[:#.]?\s*", re.IGNORECASE)
IDENTIFIER_RE = re.compile(r"[A-Z]{0,5}[-/]?\d[\w/-]{3,}", re.IGNORECASE)
PHONE_LABEL_RE = re.compile(r"\b(TEL|PHONE|PH|TELEPHONE|HP|MOBILE|FON|TÉL)\b\.?\s*(NO)?\.?\s*[:.]?",
                            re.IGNORECASE)
PHONE_RE = re.compile(r"\+?\(?\d[\d\s()./-]{6,}\d")


def extract_receipt_number(rows: list[Row]) -> FieldValue:
    for row in rows:
        for line in row.lines:
            m = NUMBER_LABEL_RE.search(line.text)
            if not m:
                continue
            rest = line.text[m.end():]
            if not rest.strip():  # "INVOICE NO :" then the number in the next box
                nxt = row.lines[row.lines.index(line) + 1:]
                rest, line = (nxt[0].text, nxt[0]) if nxt else ("", line)
            found = IDENTIFIER_RE.search(rest)
            if found:
                return FieldValue(found.group(0), round(0.7 * line.score, 4), line.box)
    return FieldValue("", 0.0, None)


def extract_phone(rows: list[Row]) -> FieldValue:
    for row in rows[: max(8, len(rows) // 2)]:
        m = PHONE_LABEL_RE.search(row.text)
        if not m:
            continue
        phone = PHONE_RE.search(row.text[m.end():])
        if phone:
            line = next((ln for ln in row.lines if phone.group(0)[:4] in ln.text), row.lines[0])
            value = phone.group(0).split("/")[0].strip()
            return FieldValue(value, round(0.75 * line.score, 4), line.box)
    return FieldValue("", 0.0, None)
