"""The total amount paid: the amount after the strongest "TOTAL"-like keyword."""

from __future__ import annotations

import re

from shared.documents.lines import TextLine
from shared.engines.base import FieldValue
from shared.engines.ocr.rules.rows import Row

# An amount with two decimals: "9.00", "1,234.50", "RM 30.91" (the currency is dropped).
AMOUNT_RE = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)\s?[.,]\s?(\d{2})(?![\d%])")
# Next to a total keyword the decimal point may be misread as "-" or a space ("19-80", "10 00").
LOOSE_AMOUNT_RE = re.compile(
    r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)\s?[.,\- ]\s?(\d{2})(?![\d%])"
)
# Specks OCR reads inside numbers ("72.°74"): dropped before matching amounts.
NUMBER_JUNK_RE = re.compile(r"(?<=[\d.,])[°'`´]+(?=\d)")
# Where the GST/tax summary table starts: its "Total" row sums the tax columns, not the bill.
SUMMARY_RE = re.compile(r"GST\s*SUM|TAX\s*SUM|SUMMARY|^\W*TAX\s*CODE", re.IGNORECASE)
# "TOTAL" as OCR misreads it: "Tetal", "Totel", "T0TAL", "Ttal".
TOTAL = r"T[O0EU]?T[A4E]L"

# Keywords naming the total, strongest first: the amount actually paid (rounded, incl. tax)
# beats a plain "TOTAL", which beats a generic "AMOUNT".
TOTAL_KEYWORDS: tuple[tuple[float, re.Pattern[str]], ...] = (
    (1.0, re.compile(rf"ROUND(ED|ING)?\s*(D\s*)?{TOTAL}|{TOTAL}\s*(AMT\s*)?ROUND"
                     rf"|NETT?\s*{TOTAL}|GRAND\s*{TOTAL}|{TOTAL}\s*(AMT|AMOUNT)?\s*PAYABLE"
                     rf"|{TOTAL}\s*(AMOUNT|AMT)?\s*\(?\s*INCL|{TOTAL}\s*SALES?\s*\(?\s*INCL"
                     rf"|{TOTAL}\s*(RM\s*)?INCL|{TOTAL}\s*DUE|AMOUNT\s*DUE|NET\s*AMOUNT|AMOUNT\s*PAYABLE",
                     re.IGNORECASE)),
    (0.85, re.compile(rf"\b{TOTAL}\s*(AMOUNT|AMT)?\s*(\(RM\)|RM)?\b|{TOTAL}\s*:|\bJUMLAH\b",
                      re.IGNORECASE)),
    # "Rounding RM 45.35" after a "Rounding Adjustment" row: the rounded total.
    (0.8, re.compile(r"^\W*ROUND(ING|ED)?\b(?!\s*ADJ)", re.IGNORECASE)),
    (0.5, re.compile(rf"\b{TOTAL}|\bAMOUNT\b|\bAMT\b|\bTL\b", re.IGNORECASE)),
)
# A subtotal: the total paid only when nothing better is printed (no tax, no rounding).
SUBTOTAL_RE = re.compile(rf"SUB\s*-?\s*{TOTAL}", re.IGNORECASE)
SUBTOTAL_WEIGHT = 0.3
# The rounding adjustment: a total printed after it is the rounded amount actually paid.
ROUNDING_ADJ_RE = re.compile(r"ROUND(ING)?\s*ADJ", re.IGNORECASE)
ROUNDED_BONUS = 0.25
# Rows naming something other than the total paid.
NOT_TOTAL_RE = re.compile(
    r"SUB\s*-?\s*TOTAL|TOTAL\s*(QTY|QUANTITY|ITEM|NO|EXCL|GST|TAX|DISC|SAVING|UNIT|PCS|POINT)"
    r"|\b(GST|TAX|SST|CHANGE|CASH|TENDER|PAID|DISCOUNT|ROUNDING\s*ADJ|ADJ|QTY|ITEMS?\b)"
    r"|EXCL|EXCLUSIVE|TAX\s*AMT|SERVICE|GST\s*@|^\W*\(",
    re.IGNORECASE,
)


def _amounts(line: TextLine, loose: bool = False) -> list[str]:
    """Amounts in a line, normalised to digits and one decimal point."""
    text = NUMBER_JUNK_RE.sub("", line.text)
    pattern = LOOSE_AMOUNT_RE if loose else AMOUNT_RE
    return [f"{m.group(1)}.{m.group(2)}" for m in pattern.finditer(text)]


def _keyword_weight(text: str) -> float:
    if NOT_TOTAL_RE.search(text) and not TOTAL_KEYWORDS[0][1].search(text):
        return SUBTOTAL_WEIGHT if SUBTOTAL_RE.search(text) else 0.0
    for weight, pattern in TOTAL_KEYWORDS:
        if pattern.search(text):
            return weight
    return 0.0


def _amount_after(row: Row, rows: list[Row]) -> tuple[str, TextLine] | None:
    """The amount on the keyword's row (rightmost), else alone on the next row."""
    for line in reversed(row.lines):
        found = _amounts(line) or _amounts(line, loose=True)
        if found:
            return found[-1], line
    nxt = rows[row.index + 1] if row.index + 1 < len(rows) else None
    if nxt is not None and _keyword_weight(nxt.text) == 0.0:
        # "TOTAL" alone on its row: the amount is on the next row (often the "CASH" one).
        for line in reversed(nxt.lines):
            found = _amounts(line)
            if found and len(line.text) < 16:
                return found[-1], line
    return None


def _to_float(amount: str) -> float:
    return float(amount.replace(",", ""))


def extract_total(rows: list[Row]) -> FieldValue:
    """The amount after the strongest total keyword; the latest such row wins a tie.

    Without any keyword, the largest amount on the receipt is a low-confidence guess.
    """
    best: tuple[float, str, TextLine] | None = None
    end = next((r.index for r in rows[len(rows) // 3 :] if SUMMARY_RE.search(r.text)), len(rows))
    rows = rows[:end]
    after_adjustment = False
    for row in rows:
        if ROUNDING_ADJ_RE.search(row.text):
            after_adjustment = best is not None
            continue
        weight = _keyword_weight(row.text)
        if not weight:
            continue
        if after_adjustment and weight >= 0.5:
            weight += ROUNDED_BONUS
        hit = _amount_after(row, rows)
        if hit is None:
            continue
        amount, line = hit
        if _to_float(amount) <= 0 or re.match(r"0\d", amount):
            continue  # nothing to pay, or a misread ("08.66")
        score = weight * (0.85 + 0.15 * line.score)
        if best is None or score >= best[0]:
            best = (score, amount, line)
    if best is not None:
        score, amount, line = best
        return FieldValue(amount, round(min(score * 0.9, 1.0), 4), line.box)
    everything = [
        (a, line)
        for row in rows
        if not NOT_TOTAL_RE.search(row.text)
        for line in row.lines
        for a in _amounts(line)
    ]
    if not everything:
        return FieldValue("", 0.0, None)
    amount, line = max(everything, key=lambda pair: _to_float(pair[0]))
    return FieldValue(amount, 0.15, line.box)
