"""A printed amount as a decimal and its ISO 4217 currency.

"RM 14.10" -> 14.10 MYR; "$1,234.50" with a US address -> 1234.50 USD; "1.234,50 €" -> 1234.50
EUR; "14,10" (a decimal comma) -> 14.10; "9" -> 9. A trailing minus or parentheses make it
negative. The currency is the one printed with the amount, else the receipt's (its symbols and
codes, else its country's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from shared.values.hints import Hints, currency_in

# Countries that write 1.234,50 (a decimal comma).
COMMA_DECIMAL = {"DE", "FR", "IT", "ES", "NL", "AT", "BE", "PT", "PL", "SE", "DK", "NO",
                 "FI", "RU", "TR", "ID", "VN", "BR", "AR", "CL", "CZ"}

# Digits with "." "," or "'" between them: "1,234.50", "1.234,50", "1'234.50", "14,10", "9".
NUMBER_RE = re.compile(r"(?<![\d.,'])\d+(?:[.,']\d+)*(?![\d])")
# A printed rate ("6%", "10 %", "7,7%", "8.875%"): a tax's or a charge's, never an amount.
PERCENT_RE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,3})?)\s?%")


@dataclass(frozen=True)
class ParsedAmount:
    value: Decimal
    currency: str | None
    rate: Decimal | None = None  # a tax rate printed with it ("GST 6%")

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"type": "amount", "value": str(canonical(self.value,
                                                                           self.currency)),
                                  "currency": self.currency}
        if self.rate is not None:
            out["rate"] = str(self.rate)
        return out


# ISO 4217 minor units where they are not 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "PYG": 0,
               "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3}


def canonical(value: Decimal, currency: str | None) -> Decimal:
    """The amount with at least its currency's decimals: "43.7" MYR -> 43.70, "9" -> 9.00; a
    printed extra decimal is kept ("1.005")."""
    places = MINOR_UNITS.get(currency or "", 2)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent < places:
        return value.quantize(Decimal(1).scaleb(-places))
    return value


def parse_amount(printed: str, hints: Hints | None = None) -> ParsedAmount | None:
    """The last amount in ``printed`` (a label may come first: "TOTAL RM 9.00"), or None."""
    hints = hints or Hints()
    text = PERCENT_RE.sub(" ", printed)  # "6%" is a rate, not the amount
    matches = list(NUMBER_RE.finditer(text))
    if not matches:
        return None
    m = matches[-1]
    value = _number(m.group(0), comma_decimal=hints.country in COMMA_DECIMAL)
    if value is None:
        return None
    before = re.sub(r"(RM|[A-Z]{3}|[$€£¥₹₩₫฿])\s*$", "", text[:m.start()].rstrip()).rstrip()
    if re.search(r"-\s*$", text[m.end():m.end() + 2]) or re.search(r"(^|[\s(:])-$", before) or (
            before.endswith("(") and ")" in text[m.end():]):
        value = -value  # "5.59-", "-5.59", "-RM5.59", "(5.59)"
    currency = currency_in(printed)
    if currency in (None, "$"):
        hinted = hints.default_currency
        currency = hinted if hinted and (currency is None or hinted in
                                         ("USD", "SGD", "CAD", "AUD", "HKD")) else currency
    rate = PERCENT_RE.search(printed)
    return ParsedAmount(value, None if currency == "$" else currency,
                        _decimal(rate.group(1).replace(",", ".")) if rate else None)


def _number(token: str, comma_decimal: bool = False) -> Decimal | None:
    """Digits as printed, thousands separators and the decimal mark told apart: with two kinds
    of mark the last is the decimal one ("1,234.50", "1.234,50"); marks of one kind repeated
    group thousands ("1,234,567"); a single mark is a decimal one, except before exactly three
    digits where it is read as the receipt's country writes numbers ("9.000" in Malaysia,
    "1.234" in Germany)."""
    parts = re.split(r"([.,'])", token)
    digits, marks = parts[::2], parts[1::2]
    if not marks:
        return _decimal(token)
    if any(len(d) != 3 for d in digits[1:-1]) or (len(digits[0]) > 3 and len(marks) > 1):
        return None  # "12,34,5": not how anyone groups digits
    decimal_mark = "," if comma_decimal else "."
    last = marks[-1]
    if len(set(marks)) == 2 or (len(marks) == 1 and (len(digits[-1]) != 3 or last == decimal_mark)):
        if len(set(marks[:-1])) > 1 or last in marks[:-1]:
            return None
        return _decimal("".join(digits[:-1]) + "." + digits[-1])
    if len(digits[-1]) != 3:
        return None
    return _decimal("".join(digits))


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
