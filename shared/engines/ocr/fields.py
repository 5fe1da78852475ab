"""Rule-based field extraction for the CPU engine: OCR lines in, SROIE-style fields out.

The rules are written for printed retail receipts (Malaysian ones in particular, the SROIE set):
the seller's name and address head the receipt, a date sits near a "Date" label and the amount
paid follows a "TOTAL"-like keyword. Each field kind has one small function; the patterns they use
are module constants so they can be read (and extended) without reading the code.

Every rule returns its evidence as a confidence, so wrong answers tend to rank below right ones
when a reviewer sorts by it: a keyword match, a strict pattern and a clean OCR score raise it; a
fallback guess keeps it low.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from shared.documents.lines import TextLine
from shared.documents.rows import Row, group_rows, row_of
from shared.engines.base import FieldValue
from shared.engines.ocr.rules.address import extract_address
from shared.engines.ocr.rules.amount import extract_total
from shared.engines.ocr.rules.company import extract_company
from shared.engines.ocr.rules.date import extract_date
from shared.engines.ocr.rules.identifiers import extract_phone, extract_receipt_number
from shared.engines.ocr.rules.items import extract_items
from shared.engines.ocr.rules.payment import extract_currency, extract_payment_method
from shared.engines.ocr.rules.subtotal_tax import extract_subtotal, extract_tax
from shared.fields import FieldSpec

EMPTY = FieldValue("", 0.0, None)

# Kinds whose text is returned upper case. The SROIE labels (and so the metric) write names,
# addresses and month names in capitals whatever the print's case ("Jalan" -> "JALAN"); matching
# that convention is worth far more than the rare receipt whose case carries meaning.
UPPERCASE_KINDS = frozenset({"company", "address", "date"})

# The rules per FieldSpec.kind. Each takes the receipt's rows (top to bottom) and returns a value.
RULES: dict[str, Callable[[list[Row]], FieldValue]] = {
    "company": extract_company,
    "date": extract_date,
    "address": extract_address,
    "currency": extract_currency,
    "receipt_number": extract_receipt_number,
    "payment_method": extract_payment_method,
    "phone": extract_phone,
}
# The total ("amount") is read first, by ``extract_total``. Rules that also take it: the
# receipt's arithmetic picks among their candidates.
RULES_WITH_TOTAL: dict[str, Callable[[list[Row], FieldValue], FieldValue]] = {
    "subtotal": extract_subtotal,
    "tax": extract_tax,
}


def extract_fields(lines: Sequence[TextLine], fields: Sequence[FieldSpec]) -> dict[str, FieldValue]:
    """One FieldValue per requested field name.

    A field whose kind has no rules, or that is not found, gets ``FieldValue("", 0.0, None)``, so
    callers never need to special-case missing keys.
    """
    rows = group_rows(lines)
    result: dict[str, FieldValue] = {}
    if not rows:
        return {spec.name: FieldValue("", 0.0, None, rows=()) if spec.is_table else EMPTY
                for spec in fields}
    total = extract_total(rows)
    for spec in fields:
        if spec.is_table:
            # The items end where the total is printed.
            result[spec.name] = extract_items(rows, spec.columns or [], row_of(rows, total.box))
            continue
        if spec.kind == "amount":
            value = total  # read once, above
        elif spec.kind in RULES_WITH_TOTAL:
            value = RULES_WITH_TOTAL[spec.kind](rows, total)
        else:
            rule = RULES.get(spec.kind)
            value = rule(rows) if rule is not None else EMPTY
        if not value.value:
            value = EMPTY
        elif spec.kind in UPPERCASE_KINDS:
            value = replace(value, value=value.value.upper())
        result[spec.name] = value
    return result
