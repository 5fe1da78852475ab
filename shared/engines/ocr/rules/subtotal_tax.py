"""The subtotal (before tax) and the tax amount.

Each is the amount after its keyword ("SUB TOTAL 295.00", "GST 6% 19.47"), chosen among the
receipt's candidates by its own arithmetic when the total is known: subtotal + tax = total, or
the tax is its printed rate of the subtotal (or of a tax-inclusive total). A receipt prints many
amounts near these words (the column heading "AMOUNT TAX" over the items, "TOTAL SALES
(INCLUSIVE OF GST)"), and the arithmetic tells the one meant.
"""

from __future__ import annotations

import re
from decimal import Decimal

from shared.documents.lines import TextLine
from shared.documents.rows import Row
from shared.engines.base import FieldValue
from shared.engines.ocr.rules.amount import SUBTOTAL_RE, SUMMARY_RE, _amount_after, _amounts
from shared.values.money import PERCENT_RE
from shared.values.taxes import NOT_TAX_RE, TAX_RE

# Column headings: a row holding two is the items' header, its "TAX" names a column.
HEADING_RE = re.compile(r"\b(QTY|PRICE|AMOUNT|AMT|DESC\w*|ITEM|CODE|U/P|S/PRICE|RM)\b",
                        re.IGNORECASE)
CENT = Decimal("0.05")


def keyword_amounts(rows: list[Row], keyword: re.Pattern[str],
                    exclude: re.Pattern[str] | None = None) -> list[tuple[Decimal, TextLine, Row]]:
    """Each amount printed after ``keyword`` (on a row without ``exclude``), above the tax
    summary, top to bottom; not on the items' column headings."""
    end = next((r.index for r in rows[len(rows) // 3:] if SUMMARY_RE.search(r.text)), len(rows))
    found = []
    for row in rows[:end]:
        if not keyword.search(row.text) or (exclude is not None and exclude.search(row.text)):
            continue
        if len(HEADING_RE.findall(row.text)) >= 2 and not any(_amounts(ln) for ln in row.lines):
            continue
        hit = _amount_after(row, rows)
        if hit is not None:
            found.append((Decimal(hit[0].replace(",", "")), hit[1], row))
    return found


def _value(amount: Decimal, line: TextLine, confidence: float) -> FieldValue:
    return FieldValue(f"{amount:.2f}", round(confidence * (0.85 + 0.15 * line.score), 4),
                      line.box)


def _total(total: FieldValue | None) -> Decimal | None:
    try:
        return Decimal(total.value.replace(",", "")) if total and total.value else None
    except ArithmeticError:
        return None


def extract_subtotal(rows: list[Row], total: FieldValue | None = None) -> FieldValue:
    """The first subtotal that is no more than the total (all of them, without a total)."""
    paid = _total(total)
    for amount, line, _row in keyword_amounts(rows, SUBTOTAL_RE):
        if paid is None or amount <= paid + CENT:
            return _value(amount, line, 0.75 if paid is not None else 0.6)
    return FieldValue("", 0.0, None)


def extract_tax(rows: list[Row], total: FieldValue | None = None) -> FieldValue:
    """The tax amount; a rate printed on its row ("GST 6%") is kept in the text, where the typed
    value reads it. With the total known, the candidate its arithmetic confirms wins; one not
    less than the total is no tax."""
    paid = _total(total)
    candidates = keyword_amounts(rows, TAX_RE, NOT_TAX_RE)
    if paid is not None:
        candidates = [c for c in candidates if c[0] < paid or c[0] == 0]
        subtotals = [a for a, _line, _row in keyword_amounts(rows, SUBTOTAL_RE)]
        for amount, line, row in candidates:
            if _confirmed(amount, row, paid, subtotals):
                return _with_rate(_value(amount, line, 0.9), row)
    if not candidates:
        return FieldValue("", 0.0, None)
    amount, line, row = candidates[0]
    return _with_rate(_value(amount, line, 0.5), row)


def _confirmed(tax: Decimal, row: Row, total: Decimal, subtotals: list[Decimal]) -> bool:
    if any(abs(s + tax - total) <= CENT for s in subtotals):
        return True
    rate = PERCENT_RE.search(row.text)
    if rate is None or tax == 0:
        return False
    r = Decimal(rate.group(1).replace(",", ".")) / 100
    # Of a tax-inclusive total, or of the subtotal before it.
    return abs(total * r / (1 + r) - tax) <= CENT or any(abs(s * r - tax) <= CENT
                                                          for s in subtotals)


def _with_rate(value: FieldValue, row: Row) -> FieldValue:
    rate = PERCENT_RE.search(row.text)
    return FieldValue(f"{value.value} ({rate.group(0)})" if rate else value.value,
                      value.confidence, value.box)
