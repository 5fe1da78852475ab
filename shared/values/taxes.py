"""The tax, charges and discounts a receipt prints between its items and its total.

A row naming a tax ("GST 6%  1.23", "VAT 20 %  3.00") or holding a rate ("SERVICE CHARGE 10%
5.00") ends in an amount the items do not hold but the total does; a discount's row ("Coupon
Discount  8.40") one the total does not hold. The validation rules (``checks.py``) take them:
``items_sum``, so a receipt whose field list asks for no tax field is not held for review only
because its items are priced before tax or a coupon came off; ``subtotal_tax_total``, where no
tax is read. The OCR engine's rules read the tax field with the same words
(``shared/engines/ocr/rules/amount.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from shared.documents.lines import TextLine
from shared.documents.rows import group_rows
from shared.values.hints import Hints
from shared.values.money import PERCENT_RE, parse_amount

# A tax's row, and rows that name a tax but hold no tax amount: the tax-exclusive total, the
# summary's header. India prints GST in halves (CGST, SGST) or whole across states (IGST).
TAX_RE = re.compile(
    r"\b(TOTAL\s*)?([CSI]?GST|SST|VAT|TAX|MWST|UST|TVA|IVA|BTW|HST|PST)\b(?!\s*(ID|NO|REG|INVOICE|"
    r"SUMMARY|CODE|SUM))(\s*(PAYABLE|AMT|AMOUNT))?", re.IGNORECASE)
NOT_TAX_RE = re.compile(r"EXCL|INCLUSIVE|\(INCL|INCL\.?\s*GST\)|INVOICE|SUMMARY|\bID\b|REG|"
                        r"NO\s*[:.]|TOTAL\s*SALES|TOTAL\s*QTY", re.IGNORECASE)
# What takes away ("6%DISC", "PROMO", "10% OFF", "COUPON"); a total's row ("SUB TOTAL BEFORE
# DISCOUNT", "TOTAL SAVINGS") is none. The line items' reader takes its discounts with it.
DISCOUNT_RE = re.compile(r"DISC|PROMO|\bLESS\b|\bOFF\b|\bSAV(E|ING)|COUPON|VOUCHER|RABAT|REMISE|"
                         r"SCONTO|DESCUENTO", re.IGNORECASE)
TOTAL_RE = re.compile(r"T[O0]TAL", re.IGNORECASE)


def printed_adjustments(pages: Sequence[Sequence[TextLine]], hints: Hints | None = None
                        ) -> tuple[Decimal, ...]:
    """The amounts ending the rows that name a tax or hold a rate (positive) or name a
    discount (negative), each page's rows top to bottom, each amount once."""
    found: list[Decimal] = []
    for lines in pages:
        for row in group_rows(lines):
            text = row.text
            if DISCOUNT_RE.search(text):
                sign = 0 if TOTAL_RE.search(text) else -1
            elif (TAX_RE.search(text) and not NOT_TAX_RE.search(text)) or PERCENT_RE.search(text):
                sign = 1
            else:
                continue
            amount = parse_amount(text, hints)
            if sign and amount is not None and amount.value != 0:
                found.append(sign * abs(amount.value))
    return tuple(dict.fromkeys(found))
