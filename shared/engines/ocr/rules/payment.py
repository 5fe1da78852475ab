"""How it was paid, and in what currency: the words the receipt prints for them."""

from __future__ import annotations

from shared.documents.rows import Row
from shared.engines.base import FieldValue
from shared.values import PAYMENT_METHODS
from shared.values.hints import CURRENCY_RES


def extract_payment_method(rows: list[Row]) -> FieldValue:
    """The first payment word in the lower half of the receipt (where tenders are printed)."""
    for row in rows[len(rows) // 3:]:
        for pattern, _method, _network in PAYMENT_METHODS:
            m = pattern.search(row.text)
            if m:
                line = next((ln for ln in row.lines if pattern.search(ln.text)), row.lines[0])
                return FieldValue(m.group(0).upper(), round(0.6 * line.score, 4), line.box)
    return FieldValue("", 0.0, None)


def extract_currency(rows: list[Row]) -> FieldValue:
    """The currency mark printed most often ("RM", "€", "USD")."""
    counts: dict[str, tuple[int, str, object]] = {}
    for row in rows:
        for line in row.lines:
            for pattern, code in CURRENCY_RES:
                for m in pattern.finditer(line.text):
                    n, _, box = counts.get(code, (0, m.group(0), line.box))
                    counts[code] = (n + 1, m.group(0), box)
    if not counts:
        return FieldValue("", 0.0, None)
    code, (n, printed, box) = max(counts.items(), key=lambda kv: kv[1][0])
    return FieldValue(printed.strip(), round(min(0.9, 0.4 + 0.1 * n), 4), box)  # type: ignore[arg-type]
