"""A printed date as an ISO 8601 date.

"25/12/2018", "16-04-18", "2016-07-31", "03 MAR 2018", "OCT 3, 2016", "Fri, 29-12-2017",
"20180304", "11.02.18", month names in English, Malay, German, French, Spanish, Italian and
Dutch. A date whose day and month could be either way round (01/02/2018) is read in the order the
receipt's other dates show, else its country's order; when nothing tells, it is flagged
ambiguous, with the reading given and the other one named.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from shared.values.hints import MONTH_FIRST, Hints

# Month names and their abbreviations, as receipts print them. Longest first in the pattern.
MONTH_NAMES: dict[str, int] = {}
for number, names in enumerate([
    "JAN JANUARY JANUARI JANV JANVIER JÄN JANUAR ENE ENERO GEN GENNAIO JANUARI",
    "FEB FEBRUARY FEBRUARI FÉV FEV FEVR FÉVR FÉVRIER FEBRUAR FEBRERO FEBBRAIO",
    "MAR MARCH MAC MARS MÄR MÄRZ MARZ MARZO MAART",
    "APR APRIL AVR AVRIL ABR ABRIL APRILE",
    "MAY MEI MAI MAYO MAG MAGGIO",
    "JUN JUNE JUIN JUNI JUNIO GIU GIUGNO",
    "JUL JULY JULAI JUIL JUILLET JULI JULIO LUG LUGLIO",
    "AUG AUGUST OGOS OGO AOÛT AOUT AGO AGOSTO AUGUSTUS",
    "SEP SEPT SEPTEMBER SEPTEMBRE SEPTIEMBRE SETT SETTEMBRE SET",
    "OCT OCTOBER OKT OKTOBER OCTOBRE OCTUBRE OTT OTTOBRE",
    "NOV NOVEMBER NOVEMBRE NOVIEMBRE",
    "DEC DECEMBER DIS DISEMBER DÉC DÉCEMBRE DEZ DEZEMBER DIC DICIEMBRE DICEMBRE",
], start=1):
    for name in names.split():
        MONTH_NAMES[name] = number
MONTHS = "|".join(sorted(MONTH_NAMES, key=len, reverse=True))

# dd/mm/yyyy, mm-dd-yy, dd.mm.yyyy: the separator repeats.
NUMERIC_RE = re.compile(
    r"(?<![\d/.-])(\d{1,2})\s?([/.-])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})(?![\d/])")
# yyyy-mm-dd, yyyy/mm/dd.
ISO_RE = re.compile(r"(?<![\d/.-])(\d{4})([/.-])(\d{1,2})\2(\d{1,2})(?![\d/])")
# A two-digit year after an apostrophe, as US and UK receipts print it ("08Feb'15").
APOSTROPHE = "['’´`]"
# 30 DEC 17, 30-Dec-2017, 30/DEC/2017, 30DEC2017, 30. Dezember 2017, 14MAY/2017, 24 MAR18,
# 18 DECEMBRE 2014, 08Feb'15. The rules find dates with it too (``rules/date.py``).
DAY_MONTH_RE = re.compile(
    rf"(?<!\d)(\d{{1,2}})\.?([\s/-]?)({MONTHS})[A-Z]*\.?[\s/-]?\s?{APOSTROPHE}?(\d{{4}}|\d{{2}})"
    r"(?!\d)", re.IGNORECASE)
# Dec 30, 2017; Sep 1, 2017; Jul/15/2017; DEC23'14; Aug 09 2012. A two-digit year only after
# an apostrophe, a comma or a slash ("MAR 18 10:30" is a day and a time). The month is a whole
# word: "MARCOS 02/22" (a waiter) and "MAYBANK 12/18" are not dates. Year: group 3 or 4.
MONTH_DAY_RE = re.compile(
    rf"\b({MONTHS})(?![A-Z])\.?[\s/-]?(\d{{1,2}})(?:ST|ND|RD|TH)?"
    rf"(?:(?:,\s*|\s+|[/-])(\d{{4}})|(?:\s*{APOSTROPHE}|,\s*|/)(\d{{2}}))(?!\d)", re.IGNORECASE)
# 20180304 (yyyymmdd) and 04032018 (ddmmyyyy), 20xx years only.
COMPACT_YMD_RE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
COMPACT_DMY_RE = re.compile(r"(?<!\d)(\d{2})(\d{2})(20\d{2})(?!\d)")

FIRST_YEAR, LAST_YEAR = 1990, 2040


@dataclass(frozen=True)
class ParsedDate:
    value: dt.date
    ambiguous: bool = False  # day and month could be swapped, and nothing told which
    other: dt.date | None = None  # the swapped reading, when ambiguous

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"type": "date", "value": self.value.isoformat(),
                                  "ambiguous": self.ambiguous}
        if self.other is not None:
            out["other"] = self.other.isoformat()
        return out


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _date(year: int, month: int, day: int) -> dt.date | None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_date(printed: str, hints: Hints | None = None,
               today: dt.date | None = None) -> ParsedDate | None:
    """The first date in ``printed``, or None."""
    hints = hints or Hints()
    text = printed.upper()
    if m := ISO_RE.search(text):
        found = _date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        if found:
            return ParsedDate(found)
    if m := DAY_MONTH_RE.search(text):
        found = _date(_year(m.group(4)), MONTH_NAMES[m.group(3).upper()], int(m.group(1)))
        if found:
            return ParsedDate(found)
    if m := MONTH_DAY_RE.search(text):
        found = _date(_year(m.group(3) or m.group(4)), MONTH_NAMES[m.group(1).upper()],
                      int(m.group(2)))
        if found:
            return ParsedDate(found)
    if m := NUMERIC_RE.search(text):
        return _numeric(int(m.group(1)), int(m.group(3)), _year(m.group(4)), hints,
                        today or dt.date.today())
    if m := COMPACT_YMD_RE.search(text):
        found = _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if found:
            return ParsedDate(found)
    if m := COMPACT_DMY_RE.search(text):
        found = _date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if found:
            return ParsedDate(found)
    return None


def _numeric(a: int, b: int, year: int, hints: Hints, today: dt.date) -> ParsedDate | None:
    day_first, month_first = _date(year, b, a), _date(year, a, b)
    if day_first is None or month_first is None or day_first == month_first:
        found = day_first or month_first
        return ParsedDate(found) if found else None
    # Both readings are dates: the receipt's other dates, then its country, then plausibility.
    order = hints.date_order or ("MDY" if hints.country in MONTH_FIRST else
                                 "DMY" if hints.country else None)
    if order:
        return ParsedDate(month_first if order == "MDY" else day_first)
    future = [d > today for d in (day_first, month_first)]
    if future == [False, True]:
        return ParsedDate(day_first)
    if future == [True, False]:
        return ParsedDate(month_first)
    return ParsedDate(day_first, ambiguous=True, other=month_first)
