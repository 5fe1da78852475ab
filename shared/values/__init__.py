"""Values an accounting system can use: each field's printed text, typed by its kind.

Next to the text as printed ("Fri, 29-12-2017", "RM 14.10"), a field of a typed kind gets a
normalised value: a date as ISO 8601 (``dates.py``), an amount as a decimal string with its
ISO 4217 currency (``money.py``), a currency as its code, a phone number in international form,
a payment method as a word from a short list. What the rest of the receipt says (its country,
its currency, the order of its other dates: ``hints.py``) settles what one value alone cannot.

The printed text stays the field's value (SROIE is scored on it); typed values are computed from
it wherever a receipt is shown or exported, so a correction retypes at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from shared.values.dates import parse_date
from shared.values.hints import PHONE_PREFIXES, Hints, currency_in, read_hints
from shared.values.money import parse_amount

__all__ = ["AMOUNT_KINDS", "TYPED_KINDS", "Hints", "read_hints", "typed", "typed_values"]

# Kinds whose value is an amount of money.
AMOUNT_KINDS = frozenset({"amount", "total", "subtotal", "tax"})
TYPED_KINDS = AMOUNT_KINDS | {"date", "currency", "phone", "payment_method", "receipt_number"}

# Payment methods, by what receipts print (first match wins).
PAYMENT_METHODS: tuple[tuple[re.Pattern[str], str, str | None], ...] = tuple(
    (re.compile(p, re.IGNORECASE), method, network) for p, method, network in (
        (r"\bVISA\b", "card", "visa"),
        (r"MASTER\s*CARD|\bMASTER\b|\bMC\b", "card", "mastercard"),
        (r"\bAMEX\b|AMERICAN\s*EXPRESS", "card", "amex"),
        (r"\bUNION\s*PAY\b", "card", "unionpay"),
        (r"\bJCB\b", "card", "jcb"),
        (r"\bMAESTRO\b", "card", "maestro"),
        (r"\bDEBIT\b|\bEC[-\s]?KARTE\b|\bGIROCARD\b|\bMYDEBIT\b", "card", "debit"),
        (r"\bCREDIT\s*CARD\b|\bCARD\b|\bKARTE\b|\bCARTE\b|\bTARJETA\b", "card", None),
        (r"GRAB\s*PAY|TOUCH\s*N\s*GO|\bTNG\b|BOOST|E-?WALLET|PAYPAL|APPLE\s*PAY|GOOGLE\s*PAY|"
         r"ALIPAY|WECHAT", "e-wallet", None),
        (r"\bVOUCHER\b|\bGIFT\s*CARD\b", "voucher", None),
        (r"\bCASH\b|\bTUNAI\b|\bBAR\b|\bESPÈCES\b|\bEFECTIVO\b|\bCONTANTI\b", "cash", None),
    ))


def typed(kind: str, printed: str, hints: Hints | None = None) -> dict[str, Any] | None:
    """The typed value of a printed field of ``kind``, or None (untyped kind, or unreadable)."""
    if not printed.strip():
        return None
    hints = hints or Hints()
    if kind in AMOUNT_KINDS:
        amount = parse_amount(printed, hints)
        return amount.to_json() if amount else None
    if kind == "date":
        date = parse_date(printed, hints)
        return date.to_json() if date else None
    if kind == "currency":
        code = currency_in(printed) or (printed.strip().upper()
                                        if re.fullmatch(r"[A-Za-z]{3}", printed.strip()) else None)
        if code == "$":
            code = hints.default_currency if hints.currency == "$" else None
        return {"type": "currency", "value": code} if code else None
    if kind == "phone":
        return _phone(printed, hints)
    if kind == "payment_method":
        for pattern, method, network in PAYMENT_METHODS:
            if pattern.search(printed):
                return {"type": "payment_method", "value": method, "network": network}
        return None
    if kind == "receipt_number":
        return {"type": "text", "value": " ".join(printed.split()).strip(" :#")}
    return None


def _phone(printed: str, hints: Hints) -> dict[str, Any] | None:
    """International form when the country is known: "+60 7-123 4567" / "07-1234567" in
    Malaysia -> "+6071234567"."""
    digits = re.sub(r"\D", "", printed)
    if len(digits) < 6:
        return None
    if printed.strip().startswith("+"):
        return {"type": "phone", "value": "+" + digits}
    code = next((c for c, country in PHONE_PREFIXES.items() if country == hints.country), None)
    if code and digits.startswith("0"):
        return {"type": "phone", "value": f"+{code}{digits[1:]}"}
    if code and hints.country in ("US", "CA") and len(digits) == 10:
        return {"type": "phone", "value": f"+1{digits}"}
    return {"type": "phone", "value": digits}


def typed_values(values: Mapping[str, str], kinds: Mapping[str, str],
                 texts: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """Every field of a typed kind, typed with what the receipt's ``texts`` (its lines and
    values) say about its country, currency and date order."""
    hints = read_hints([*texts, *values.values()])
    return {name: typed(kind, values.get(name, ""), hints)
            for name, kind in kinds.items() if kind in TYPED_KINDS}
