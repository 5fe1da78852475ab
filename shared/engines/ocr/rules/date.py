"""The receipt's date, exactly as printed (time stripped)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.documents.lines import TextLine
from shared.documents.rows import Row
from shared.engines.base import FieldValue
from shared.values.dates import (  # months: English, Malay, German, French, Spanish, Italian, Dutch
    DAY_MONTH_RE,
    MONTH_DAY_RE,
    MONTHS,
)

# dd/mm/yyyy, dd-mm-yy, dd.mm.yyyy (the separator must repeat).
DMY_RE = re.compile(r"(?<![\d/.-])(\d{1,2})\s?([/.-])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})(?![\d/])")
# yyyy-mm-dd, yyyy/mm/dd.
YMD_RE = re.compile(r"(?<![\d/.-])(\d{4})([/.-])(\d{1,2})\2(\d{1,2})(?![\d/])")
# Dates with a month's name: DAY_MONTH_RE ("30 DEC 17", "08Feb'15") and MONTH_DAY_RE ("Dec 30,
# 2017", "DEC23'14") are the typed parser's (``shared/values/dates.py``), so what the rules find
# the typed value reads.
# A month with its day and a two-digit year glued on ("May0814", "JAN3113"): OCR lost the
# apostrophe of "May08'14". Weaker evidence than a printed separator.
GLUED_MONTH_DAY_RE = re.compile(rf"\b({MONTHS})(?![A-Z])(\d{{2}})(\d{{2}})(?!\d)", re.IGNORECASE)
GLUED_YEAR_RE = re.compile(r"\d{1,2}[A-Z]{3,}\d{2}|[A-Z]{3,}\d{4}", re.IGNORECASE)
ONE_SEPARATOR_RE = re.compile(r"(\d{1,2})([A-Z]{3,})([/-])(\d{4}|\d{2})", re.IGNORECASE)
# "0ct": OCR reads the O of October as a zero.
ZERO_OCT_RE = re.compile(r"(?<![\d.,])0(?=CT\b|CT\d|CT')", re.IGNORECASE)
# The same after a day's digits, and a D read as a zero too ("270ec16": 27 DEC 16).
DAY_ZERO_MONTH_RE = re.compile(r"(?<![\d.,])(\d{1,2})0(?=(CT|EC)['’´]?\d{2}(?!\d))",
                               re.IGNORECASE)
ZERO_FOR = {"CT": "O", "EC": "D"}
# ddmmyyyy with no separators ("27032018"): weaker evidence, accepted for 20xx years only. OCR
# drops thin slashes ("27/03/2018" in SROIE's ground truth), and slashes are what receipts
# print most (SROIE labels: 226 "/", 53 "-"; none without): read as dd/mm/yyyy.
COMPACT_RE = re.compile(r"(?<!\d)(\d{2})(\d{2})(20\d{2})(?!\d)")
# A date glued to the time that follows it ("04/03/201815:41:52", "2018-01-0522:55:25",
# "06/04/1711:43am"): a space is put back first.
GLUED_TIME_RE = re.compile(
    r"([/.-]\d{4}|\d{4}[/.-]\d{2}[/.-]\d{2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2})(?=\d{1,2}:\d{2})")
# A four-digit year with a digit or two glued on, and nothing after ("16-04-20181"): a speck or
# the time's first digit read onto the date; the year ends where a year's four digits do.
GLUED_DIGITS_RE = re.compile(r"([/.-](?:19|20)\d{2})(?=\d{1,2}(?:\s|$))")
# A date with digits glued before it, a clock time after it ("4408/07/2017 14:41:44"): the
# till's number read onto the day; the date is the last two digits before its separator.
GLUED_BEFORE_RE = re.compile(
    r"(?<=\d)(?=\d{2}([/.-])\d{2}\1(?:19|20)\d{2}\s+\d{1,2}:\d{2})")
# A separator read twice ("26-05--2018"): one.
DOUBLED_SEPARATOR_RE = re.compile(r"(?<=\d)([/.-])\1(?=\d)")
# "~" is how OCR often reads a dash between digits ("05~05-17").
TILDE_RE = re.compile(r"(?<=\d)~(?=\d)")
# What phone photos add to a printed date, undone before matching: a dash after a label's colon
# ("DATE:-27-02-2014"), a comma before a separator ("02,/22/2014"), a letter o for a zero in a
# run of digits and separators ("07-03-201o"), a time glued on without its colon ("1/22/2016159
# PM"), a 1 for the l of "Jul" ("Ju119'14").
COLON_DASH_RE = re.compile(r"(?<=:)\s*-(?=\d)")
COMMA_SEPARATOR_RE = re.compile(r"(?<=\d),(?=[/.-]\d)")
DIGIT_RUN_RE = re.compile(r"(?<![\w/.-])[\dOo]{1,4}(?:[/.-][\dOo]{1,4}){2}(?![\w/.-])")
GLUED_CLOCK_RE = re.compile(r"([/.-]\d{4})(?=\d{3,4}\s?[AP]\.?M\b)", re.IGNORECASE)
JUL_RE = re.compile(r"\bJU1(?=[\s\d'’/.-])", re.IGNORECASE)
# yyyymmdd with no separators ("20180428"), 20xx years only.
COMPACT_YMD_RE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
# A "Date" label, on the row or the row above.
DATE_KEYWORD_RE = re.compile(r"\b(DATE|TARIKH|DT)\b|DATE\s*:", re.IGNORECASE)
# Letters glued before a date's digits: a product code ("HD03-04-06", "HA06HD01-3 - 70"), but a
# label OCR glued to its date ("DATE03/04/2018").
GLUED_LETTERS_RE = re.compile(r"[^\W\d_]+$")
CODE_STRENGTH = 0.5
# Rows with dates that are not the receipt's: expiry, validity, promotion periods.
OTHER_DATE_RE = re.compile(r"\b(EXP|EXPIRY|VALID|UNTIL|BEFORE|PROMO|DUE)\b", re.IGNORECASE)


@dataclass(frozen=True)
class DateFound:
    text: str
    strength: float  # how sure the pattern is a date (a valid day/month/year)
    line: TextLine
    row: Row


def _valid(day: int, month: int, year: str) -> float:
    """Plausibility of a day/month/year, 0 when impossible; mm/dd is tolerated at a cost."""
    if len(year) == 4 and not 1990 <= int(year) <= 2035:
        return 0.0
    if 1 <= day <= 31 and 1 <= month <= 12:
        return 1.0
    if 1 <= month <= 31 and 1 <= day <= 12:
        return 0.7
    return 0.0


def _zeros(m: re.Match[str]) -> str:
    run = m.group(0)
    return run.replace("O", "0").replace("o", "0") if sum(c.isdigit() for c in run) >= 4 else run


def _cleaned(text: str) -> str:
    text = DAY_ZERO_MONTH_RE.sub(lambda m: m.group(1) + ZERO_FOR[m.group(2).upper()], text)
    text = TILDE_RE.sub("-", ZERO_OCT_RE.sub("O", text))
    text = DOUBLED_SEPARATOR_RE.sub(r"\1", text)
    text = COMMA_SEPARATOR_RE.sub("", COLON_DASH_RE.sub(" ", text))
    text = JUL_RE.sub("JUL", DIGIT_RUN_RE.sub(_zeros, text))
    text = GLUED_CLOCK_RE.sub(r"\1 ", GLUED_TIME_RE.sub(r"\1 ", text))
    return GLUED_BEFORE_RE.sub(" ", GLUED_DIGITS_RE.sub(r"\1 ", text))


def find_dates(line: TextLine, row: Row) -> list[DateFound]:
    found: list[DateFound] = []
    text = _cleaned(line.text)
    for m in DMY_RE.finditer(text):
        strength = _valid(int(m.group(1)), int(m.group(3)), m.group(4))
        glued = GLUED_LETTERS_RE.search(text[:m.start()])
        if glued and not DATE_KEYWORD_RE.fullmatch(glued.group()):
            strength *= CODE_STRENGTH
        if strength:
            found.append(DateFound(m.group(0).replace(" ", ""), strength, line, row))
    for m in YMD_RE.finditer(text):
        strength = _valid(int(m.group(4)), int(m.group(3)), m.group(1))
        if strength:
            found.append(DateFound(m.group(0), strength, line, row))
    for m in DAY_MONTH_RE.finditer(text):
        strength = _valid(int(m.group(1)), 1, m.group(4))
        if strength:
            found.append(DateFound(_as_printed(m.group(0)), strength, line, row))
    for m in MONTH_DAY_RE.finditer(text):
        strength = _valid(int(m.group(2)), 1, m.group(3) or m.group(4))
        if strength:
            found.append(DateFound(m.group(0), strength, line, row))
    for m in GLUED_MONTH_DAY_RE.finditer(text):
        strength = 0.6 * _valid(int(m.group(2)), 1, m.group(3))
        if strength:
            found.append(DateFound(_as_printed(m.group(0)), strength, line, row))
    for m in COMPACT_YMD_RE.finditer(text):
        strength = 0.6 * _valid(int(m.group(3)), int(m.group(2)), m.group(1))
        if strength:
            found.append(DateFound(m.group(0), strength, line, row))
    for m in COMPACT_RE.finditer(text):
        strength = 0.6 * _valid(int(m.group(1)), int(m.group(2)), m.group(3))
        if strength:
            found.append(DateFound("/".join(m.groups()), strength, line, row))
    return found


def _as_printed(date: str) -> str:
    """The date with the marks OCR lost put back: a date in one piece with a two-digit year
    ("29JAN15", "MAY0814") gets its apostrophe ("29JAN'15"), one with spaces ("24 MAR18") is
    left as read; a separator read once of two gets its twin ("14MAY/2017" -> "14/MAY/2017")."""
    if GLUED_YEAR_RE.fullmatch(date):
        return f"{date[:-2]}'{date[-2:]}"
    if m := ONE_SEPARATOR_RE.fullmatch(date):
        day, month, sep, year = m.groups()
        return f"{day}{sep}{month}{sep}{year}"
    return date


def has_date(text: str) -> bool:
    """Whether ``text`` holds a plausible date (used to skip date rows in the header)."""
    line = TextLine(text=text, box=(0.0, 0.0, 0.0, 0.0))
    return bool(find_dates(line, Row(lines=(line,), index=0)))


def extract_date(rows: list[Row]) -> FieldValue:
    """The best date on the receipt.

    A date labelled "Date" (on its row or the row above) wins; otherwise the first plausible date
    from the top. Confidence rises with the label and the pattern's plausibility.
    """
    best: tuple[float, DateFound] | None = None
    for i, row in enumerate(rows):
        keyword = bool(DATE_KEYWORD_RE.search(row.text)) or (
            i > 0 and bool(DATE_KEYWORD_RE.search(rows[i - 1].text))
            and len(rows[i - 1].lines) == 1
        )
        other = bool(OTHER_DATE_RE.search(row.text))
        for line in row.lines:
            for cand in find_dates(line, row):
                score = cand.strength * (0.55 + (0.35 if keyword else 0.0))
                score *= 0.5 if other else 1.0
                score *= 0.8 + 0.2 * line.score
                score -= 0.002 * i  # earlier rows slightly preferred among equals
                if best is None or score > best[0]:
                    best = (score, cand)
    if best is None:
        return FieldValue("", 0.0, None)
    score, cand = best
    return FieldValue(cand.text, round(max(0.05, min(score, 1.0)), 4), cand.line.box)
