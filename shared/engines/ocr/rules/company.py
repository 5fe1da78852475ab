"""The seller's name: the first printed row(s) of the header."""

from __future__ import annotations

import re

from shared.documents.rows import Row, union_box
from shared.engines.base import FieldValue
from shared.engines.ocr.rules.header import (
    BHD,
    CLOCK_RE,
    COMPANY_SUFFIX_RE,
    LEADING_CODE_RE,
    LEGAL_FORM_RE,
    REG_CLAUSE_RE,
    SDN,
    STRONG_SUFFIX,
    TRAILING_REG_RE,
    find_header,
)
from shared.engines.ocr.rules.trades import respell_trades

# Malaysian legal forms as OCR misreads them ("SON BHD", "5DN BND", "SDN DHD", "5/B", "S/D"); no
# label of either dev set writes them so. The printed dots and spaces are kept, but a space OCR
# read as a dash before one ("INTERNATIONAL-SDN BHD").
_SDN_BHD_RE = re.compile(rf"\b{SDN}(\.?\s*){BHD}\b", re.IGNORECASE)
_DASH_BEFORE_FORM_RE = re.compile(rf"(?<=[A-Z])-(?={SDN}\b)", re.IGNORECASE)
_S_B_RE = re.compile(r"\b(?:5(?=\s?/\s?[BD]\b)|S(?=\s?/\s?D\b))(\s?/\s?)[BD]\b")


# "Welcome to Chick-fil-A", "WELCOME TO THE GRAND WOK": the shop's name after the greeting.
GREETING_RE = re.compile(r"^\W*WELCOME\s+TO\s+(\w.*?)\W*$", re.IGNORECASE)
GREETING_ROWS = 3
# "SDN B" at the end of a name: the row's last letters cut off (the paper's edge, a fold); no
# legal form ends so.
_CUT_BHD_RE = re.compile(r"\b(SDN\.?\s*)B$", re.IGNORECASE)


def legal_form(text: str) -> str:
    """The name with a misread or cut "SDN BHD" or "S/B" spelled right."""
    def sdn_bhd(m: re.Match[str]) -> str:
        read = m.group(0)  # already right (in any case): as printed
        return read if re.fullmatch(r"SDN\.?\s*BHD", read, re.I) else f"SDN{m.group(1)}BHD"

    text = _DASH_BEFORE_FORM_RE.sub(" ", _CUT_BHD_RE.sub(r"\1BHD", text))
    return _S_B_RE.sub(r"S\1B", _SDN_BHD_RE.sub(sdn_bhd, text))


# What OCR reads after a legal form on its row that is no part of the name: a stray letter or
# two, a registration number or code, a short tag in brackets ("SDN BHD SE", "S/B 273500-U
# (KSB)", "SDN BHD 2.1", "SDN BHD 8OZTZ5-U"). A branch in words stays: "SDN BHD (JALAN KLANG
# LAMA)".
_TAIL_TOKEN_RE = re.compile(r"[^\w(]*(?:[A-Z]{1,2}|\([A-Z]{1,3}\)|\S*\d\S*)\W*", re.IGNORECASE)


def _without_tail(text: str) -> str:
    forms = list(LEGAL_FORM_RE.finditer(text))
    if not forms:
        return text
    last = forms[-1]
    tail = REG_CLAUSE_RE.sub("", text[last.end():])
    if not tail.strip():
        return text[:last.end()] + tail
    if not any(ch.isalnum() for ch in tail) or not all(
            _TAIL_TOKEN_RE.fullmatch(token) for token in tail.split()):
        return text
    return text[:last.end()] + re.match(r"[^\w\s]*", tail).group()  # type: ignore[union-attr]


# A short tag in brackets OCR reads after a trade word that ends a name ("BILLION SIX ENTERPRISE
# P)"): as after a legal form, no part of the name.
_SUFFIX_TAG_RE = re.compile(rf"({STRONG_SUFFIX})\s+\(?[A-Z]{{1,3}}\)\W*$", re.I)


# Rules printed around a name: "****CARREFOUR***", "== AEON ==".
_DECORATION_RE = re.compile(r"^[\s*=~_]+|[\s*=~_]+$")
# Who owns the shop, printed before the owner's legal name: "OWN BY: CHEF LEE SDN BHD",
# "DIMILIKI: BANH MI CAFE SDN BHD" (Malay, "owned by"). The seller is the owner.
_OWNER_RE = re.compile(r"^\W*(OWN(ED)?\s*BY|OPERATED\s*BY|DIMILIKI(\s*OLEH)?)\s*[:.-]?\s*",
                       re.IGNORECASE)


def clean_name(text: str) -> str:
    """A company text as the name: a counter code before it and a registration number or
    stray marks after it cut off, a misread legal form and trade words (``trades.py``) spelled
    right."""
    text = _OWNER_RE.sub("", _DECORATION_RE.sub("", text))
    text = TRAILING_REG_RE.sub(_registration, LEADING_CODE_RE.sub("", text))
    return respell_trades(legal_form(_without_tail(_SUFFIX_TAG_RE.sub(r"\1", text.strip()))))


def _registration(m: re.Match[str]) -> str:
    """A registration number after a name goes; a store's number alone stays ("WAL*MART
    1044", "SPEEDWAY 0006661"): a registration number has its check letter or brackets."""
    found = m.group()
    return "" if re.search(r"[A-Z]\W*$|\(", found.strip(), re.I) else found


def extract_company(rows: list[Row]) -> FieldValue:
    """The company rows of the header, joined with spaces.

    Confidence is higher when the name ends with a legal-form/trade word (SDN BHD, ENTERPRISE...)
    and when the address was found right below it (the header then parsed as expected).
    """
    header = find_header(rows)
    if not header.company:
        return _greeted(rows)
    text = clean_name(" ".join(CLOCK_RE.sub("", row.text) for row in header.company))
    confidence = 0.45
    if COMPANY_SUFFIX_RE.search(text):
        confidence += 0.3
    if header.postcode_found:
        confidence += 0.15
    confidence *= min(row.score for row in header.company)
    box = union_box([row.box for row in header.company])
    return FieldValue(text, round(min(confidence, 1.0), 4), box)


def _greeted(rows: list[Row]) -> FieldValue:
    """The shop a greeting on the first rows names ("Welcome to Chick-fil-A"), where no row
    above it does: a greeting ends the header, and without this nothing would be read."""
    for row in rows[:GREETING_ROWS]:
        m = GREETING_RE.match(row.text)
        if m and (name := clean_name(m.group(1))):
            return FieldValue(name, round(0.3 * row.score, 4), row.box)
    return FieldValue("", 0.0, None)
