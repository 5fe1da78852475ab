"""What the rest of a receipt says about how to read one of its values: the country, the
currency, and the order its dates are written in.

Read from the receipt's whole text (its lines) and its address: a currency symbol or code
printed anywhere, a country named or implied (a Malaysian state, a US state and ZIP code, a UK
postcode, a phone prefix), and the receipt's other dates (one date with a day above 12 tells the
order of all of them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# Currency marks, most specific first (S$ before $). Each maps to its ISO 4217 code.
CURRENCY_MARKS: tuple[tuple[str, str], ...] = (
    (r"\bMYR\b|\bRM(?=\s?\d|\b)", "MYR"),
    (r"\bSGD\b|\bS\$", "SGD"),
    (r"\bAUD\b|\bA\$", "AUD"),
    (r"\bCAD\b|\bC\$", "CAD"),
    (r"\bHKD\b|\bHK\$", "HKD"),
    (r"\bUSD\b|\bUS\$", "USD"),
    (r"\bEUR\b|€", "EUR"),
    (r"\bGBP\b|£", "GBP"),
    (r"\bCHF\b|\bFr\.(?=\s?\d)", "CHF"),
    (r"\bJPY\b|¥|円", "JPY"),
    (r"\bCNY\b|\bRMB\b|元", "CNY"),
    (r"\bINR\b|₹|\bRs\.?(?=\s?\d)", "INR"),
    (r"\bIDR\b|\bRp\.?(?=\s?\d)", "IDR"),
    (r"\bTHB\b|฿", "THB"),
    (r"\bPHP\b|₱", "PHP"),
    (r"\bKRW\b|₩", "KRW"),
    (r"\bPLN\b|\bzł", "PLN"),
    (r"\bSEK\b|\bNOK\b|\bDKK\b|\bkr\.?(?=\s?\d)", "SEK"),
    (r"\bRUB\b|₽", "RUB"),
    (r"\bTRY\b|₺", "TRY"),
    (r"\bVND\b|₫", "VND"),
    (r"\$", "$"),  # a dollar of some country: settled by the country below
)
CURRENCY_RES = tuple((re.compile(p), code) for p, code in CURRENCY_MARKS)

COUNTRY_CURRENCY = {"MY": "MYR", "SG": "SGD", "US": "USD", "CA": "CAD", "AU": "AUD",
                    "GB": "GBP", "DE": "EUR", "FR": "EUR", "IT": "EUR", "ES": "EUR",
                    "NL": "EUR", "AT": "EUR", "BE": "EUR", "IE": "EUR", "PT": "EUR",
                    "CH": "CHF", "JP": "JPY", "CN": "CNY", "HK": "HKD", "IN": "INR",
                    "ID": "IDR", "TH": "THB", "PH": "PHP", "KR": "KRW"}
DOLLAR_COUNTRIES = {"US": "USD", "SG": "SGD", "CA": "CAD", "AU": "AUD", "HK": "HKD"}
# Countries that write the month first (3/14/2024).
MONTH_FIRST = {"US", "PH"}

_MY_STATES = (r"MALAYSIA|JOHOR|SELANGOR|KUALA\s*LUMPUR|PULAU\s*PINANG|PENANG|PERAK|KEDAH|"
              r"KELANTAN|TERENGGANU|PAHANG|NEGERI\s*SEMBILAN|MELAKA|MALACCA|SABAH|SARAWAK|"
              r"PERLIS|PUTRAJAYA|LABUAN|\bSDN\.?\s*BHD\b|\bJALAN\b|\bJLN\b|\bTAMAN\b|\bGST\s*ID\b")
_US_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|"
              "NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC")
COUNTRY_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(_MY_STATES, re.IGNORECASE), "MY"),
    (re.compile(r"\bSINGAPORE\b|\bS\(\d{6}\)", re.IGNORECASE), "SG"),
    (re.compile(rf"\b({_US_STATES})\s+\d{{5}}(-\d{{4}})?\b|\bU\.?S\.?A\.?\b|UNITED STATES"),
     "US"),
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b|UNITED KINGDOM|\bVAT\s*(NO|REG)",
                re.IGNORECASE), "GB"),
    (re.compile(r"DEUTSCHLAND|GERMANY|\bMWST\b|\bUST\.?-?ID|\bSTR\.|STRASSE|STRAẞE",
                re.IGNORECASE), "DE"),
    (re.compile(r"\bFRANCE\b|\bTVA\b|\bSIRET\b", re.IGNORECASE), "FR"),
    (re.compile(r"\bITALIA\b|\bITALY\b|\bP\.?\s?IVA\b", re.IGNORECASE), "IT"),
    (re.compile(r"\bESPAÑA\b|\bSPAIN\b|\bCIF\b|\bNIF\b", re.IGNORECASE), "ES"),
    (re.compile(r"\bNEDERLAND\b|\bBTW\b", re.IGNORECASE), "NL"),
    (re.compile(r"\bCANADA\b|\b[A-Z]\d[A-Z]\s\d[A-Z]\d\b|\bHST\b|\bGST/HST\b"), "CA"),
    (re.compile(r"\bAUSTRALIA\b|\bABN\b", re.IGNORECASE), "AU"),
    (re.compile(r"\bSCHWEIZ\b|\bSUISSE\b|\bSWITZERLAND\b", re.IGNORECASE), "CH"),
    (re.compile(r"\bINDIA\b|\bGSTIN\b", re.IGNORECASE), "IN"),
    (re.compile(r"\bJAPAN\b|東京|日本"), "JP"),
)
PHONE_PREFIXES = {"60": "MY", "65": "SG", "1": "US", "44": "GB", "49": "DE", "33": "FR",
                  "39": "IT", "34": "ES", "31": "NL", "61": "AU", "41": "CH", "91": "IN",
                  "81": "JP", "86": "CN", "852": "HK", "62": "ID", "66": "TH", "63": "PH"}
_PHONE_PREFIX_RE = re.compile(r"\+\s?(\d{1,3})[\s\-(]")

# Numeric dates in the text, to learn the order: a first number above 12 is a day.
_NUMERIC_DATE_RE = re.compile(r"(?<![\d.])(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})(?![\d])")


@dataclass(frozen=True)
class Hints:
    country: str | None = None  # ISO 3166 alpha-2
    currency: str | None = None  # ISO 4217, from a mark printed on the receipt
    date_order: str | None = None  # DMY or MDY, when the receipt's own dates tell

    @property
    def default_currency(self) -> str | None:
        """The currency printed, or the country's; a bare "$" settled by the country."""
        if self.currency == "$":
            return DOLLAR_COUNTRIES.get(self.country or "")
        return self.currency or COUNTRY_CURRENCY.get(self.country or "")


def currency_in(text: str) -> str | None:
    """The first currency mark in ``text`` ("$" when only a bare dollar sign)."""
    found = [(m.start(), code) for pattern, code in CURRENCY_RES for m in pattern.finditer(text)]
    return min(found)[1] if found else None


def read_hints(texts: Iterable[str]) -> Hints:
    text = "\n".join(texts)
    currencies = Counter(code for pattern, code in CURRENCY_RES for _ in pattern.finditer(text))
    specific = [(n, code) for code, n in currencies.items() if code != "$"]
    currency = max(specific)[1] if specific else ("$" if currencies["$"] else None)
    votes: Counter[str] = Counter()
    for pattern, country in COUNTRY_HINTS:
        votes[country] += len(pattern.findall(text))
    for m in _PHONE_PREFIX_RE.finditer(text):
        country = PHONE_PREFIXES.get(m.group(1))
        if country:
            votes[country] += 1
    for country, code in COUNTRY_CURRENCY.items():
        if currency == code and code not in ("EUR",):
            votes[country] += 2
    country = votes.most_common(1)[0][0] if votes and votes.most_common(1)[0][1] else None
    return Hints(country, currency, _date_order(text))


def _date_order(text: str) -> str | None:
    day_first = month_first = 0
    for m in _NUMERIC_DATE_RE.finditer(text):
        a, b = int(m.group(1)), int(m.group(3))
        if a > 12 >= b >= 1:
            day_first += 1
        elif b > 12 >= a >= 1:
            month_first += 1
    if day_first and not month_first:
        return "DMY"
    if month_first and not day_first:
        return "MDY"
    return None
