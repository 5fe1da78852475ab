"""The tax and charges a receipt prints on top of its items.

A row naming a tax ("GST 6%  1.23", "VAT 20 %  3.00") or holding a rate ("SERVICE CHARGE 10%
5.00") ends in an amount the items do not hold but the total does. The validation rule
``items_sum`` (``checks.py``) takes them, so a receipt whose field list asks for no tax field is
not held for review only because its items are priced before tax. The OCR engine's rules read
the tax field with the same words (``shared/engines/ocr/rules/amount.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from shared.documents.lines import TextLine
from shared.documents.rows import group_rows
from shared.values.hints import Hints
from shared.values.money import parse_amount

# A tax's row, and rows that name a tax but hold no tax amount: the tax-exclusive total, the
# summary's header. India prints GST in halves (CGST, SGST) or whole across states (IGST).
TAX_RE = re.compile(
    r"\b(TOTAL\s*)?([CSI]?GST|SST|VAT|TAX|MWST|UST|TVA|IVA|BTW|HST|PST)\b(?!\s*(ID|NO|REG|INVOICE|"
    r"SUMMARY|CODE|SUM))(\s*(PAYABLE|AMT|AMOUNT))?", re.IGNORECASE)
NOT_TAX_RE = re.compile(r"EXCL|INCLUSIVE|\(INCL|INCL\.?\s*GST\)|INVOICE|SUMMARY|\bID\b|REG|"
                        r"NO\s*[:.]|TOTAL\s*SALES|TOTAL\s*QTY", re.IGNORECASE)
# A printed rate ("6%", "10 %", "7,7%"): a tax's or a charge's.
RATE_RE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,3})?)\s?%")
# A rate that takes away: a discount's row adds nothing.
DISCOUNT_RE = re.compile(r"DISC|LESS|\bOFF\b|SAV(E|ING)|RABAT|REMISE|SCONTO|DESCUENTO",
                         re.IGNORECASE)


def printed_surcharges(pages: Sequence[Sequence[TextLine]], hints: Hints | None = None
                       ) -> tuple[Decimal, ...]:
    """The positive amounts ending the rows that name a tax or hold a rate, each page's rows
    top to bottom, each amount once."""
    found: list[Decimal] = []
    for lines in pages:
        for row in group_rows(lines):
            text = row.text
            taxed = TAX_RE.search(text) is not None and NOT_TAX_RE.search(text) is None
            rated = RATE_RE.search(text) is not None and DISCOUNT_RE.search(text) is None
            if not (taxed or rated):
                continue
            amount = parse_amount(text, hints)
            if amount is not None and amount.value > 0:
                found.append(amount.value)
    return tuple(dict.fromkeys(found))
