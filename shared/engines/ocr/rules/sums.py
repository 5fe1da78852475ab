"""What a receipt's own arithmetic says it totals: its items' amounts added up, and any
subtotal it prints plus any tax it prints.

A total the arithmetic reproduces was read right: its digits were printed, and read, twice over
(SROIE's 436 on OCR lines: 266 totals reproduced, 2 of them not their label, which holds a
rounded payable or the amount before tax). The total keyword alone does not say so: a misread
"TOTAL 33.00" is as sure of its keyword as a clean one. The learned extractor's judge reads this
(``judge.py``), so a reproduced total can be accepted without review.
"""

from __future__ import annotations

from decimal import Decimal

from shared.documents.lines import Box
from shared.documents.rows import Row, row_of
from shared.engines.ocr.rules.amount import SUBTOTAL_RE
from shared.engines.ocr.rules.items import extract_items
from shared.engines.ocr.rules.subtotal_tax import keyword_amounts
from shared.fields import ITEM_COLUMNS
from shared.values.money import parse_amount
from shared.values.taxes import NOT_TAX_RE, TAX_RE

CENT = Decimal("0.01")  # a reproduced total matches to the cent: rounding is a different total


def arithmetic_totals(rows: list[Row], total_box: Box | None) -> set[Decimal]:
    """The totals the receipt's sums give: its items' amounts added up (the items end at the
    row of the rules' total, ``total_box``, as ``fields.extract_fields`` reads them), and each
    subtotal plus each positive tax printed."""
    end = row_of(rows, total_box)
    items = extract_items(rows, list(ITEM_COLUMNS), end).rows or ()
    amounts = [a.value for item in items
               if (a := parse_amount(item.cells["amount"].value)) is not None]
    sums = {sum(amounts, Decimal(0))} if amounts else set()
    taxes = [t for t, _line, _row in keyword_amounts(rows, TAX_RE, NOT_TAX_RE) if t > 0]
    sums |= {s + t for s, _line, _row in keyword_amounts(rows, SUBTOTAL_RE) for t in taxes}
    return sums


def reproduces(sums: set[Decimal], value: str) -> bool:
    """Whether ``value`` (an amount as printed) is one of the arithmetic's totals."""
    found = parse_amount(value)
    return found is not None and any(abs(found.value - s) < CENT for s in sums)
