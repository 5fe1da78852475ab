"""Line items: the rows between the receipt's column headings and its total that end in an
amount.

Each row of that zone is an *item row* (it ends in the line's amount, perhaps followed by a tax
code such as "SR" or "*"), a *text row* (words, no amount) or neither. Receipts print an item in
one of three ways: all on its item row ("1 RIBS PLATTER SR 259.90"), its description on text rows
above the numbers ("KF MODELLING CLAY" / "1 PC * 9.000 0.00 9.00") or below them
("1X 000000417969 4.00SR" / "GREEN PEA CHEES"). Which of the last two a receipt uses is read
once: when the zone ends with text rows they are the last item's, so descriptions come below.
An item takes the text rows between it and its neighbour on that side (a code line under a name,
"HD03-04-06 - 5/40/160", is skipped when words are at hand); an item with its own words takes
the text rows under it as the wrapped rest of its name.

The quantity is a small number marked "X", "PC", "@" or leading the row, the unit price the amount
that times the quantity makes the line's amount. A discount printed under an item ("MEMBER
DISCOUNT -0.24") is an item of its own, with a negative amount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from shared.documents.rows import Row, union_box
from shared.engines.base import FieldValue, ItemRow
from shared.engines.ocr.rules.amount import NUMBER_JUNK_RE
from shared.fields import ColumnSpec
from shared.values.taxes import DISCOUNT_RE

AMOUNT = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)[.,]\d{2,4}"
AMOUNT_RE = re.compile(rf"(?<![\d.,]){AMOUNT}(?![\d%])")
TAX_CODE = r"(?:SR|ZR[LI1]|ZR|ES|TX|[A-Z]|\*|#)-?"
# The line's amount: the last two-decimal amount, then at most a tax code, a currency, or a
# stray mark or two of OCR noise.
LINE_AMOUNT_RE = re.compile(
    rf"(?:RM|\$)?\s?(-?(?:\d{{1,3}}(?:,\d{{3}})+|\d+)[.,]\d{{2}})(?![\d.,])"
    rf"\s*(?:{TAX_CODE}|RM|\S{{1,2}})?\W*$", re.IGNORECASE)
QUANTITY_RE = re.compile(
    r"(?<![\d.])(\d{1,3}(?:\.\d{1,3})?)\s*(?:X|PC|PCS|PKT|PKTS|UNIT|UNITS|EA|NOS|KG)(?![A-Z])"
    r"|(?<![\d.])@?(\d{1,3})\s*X\b|\*\s*(\d{1,3}(?:\.\d{1,3})?)\b", re.IGNORECASE)
LEADING_QUANTITY_RE = re.compile(r"^\s*(\d{1,2})\s+(?=\S)")
# Tokens that are no part of a description: numbers, codes, quantity marks, tax codes.
NOT_WORD_RE = re.compile(
    rf"^(?:{AMOUNT}|[-+]?\d+|\d+[-/]\d+|\d{{6,}}\S*|[A-Z]?\d{{6,}}-?|[X*@#:|]|X\d+|\d+X|"
    rf"\d+(?:\.\d+)?\*\d+(?:\.\d+)?|\d*UNIT\*?|\d*PCS?|PKTS?|UNITS?|EA|NOS|RM|\$\S*|RM\S+|"
    rf"SR-?|ZRL|ZR|ES|\*\S*|{AMOUNT}(?:SR|ZR|ZRL|S|Z|T))$", re.IGNORECASE)
LEADING_CODE_RE = re.compile(
    r"^(?:\d+\.\s+)?(?:SR\s+)?(?:\d{3,}-\d{3,}\s+|\d{3,}-(?=[A-Z])|[A-Z]?\d{6,}-\s*|"
    r"(?:SR|ZRL|ZR)[:.]\s*|\d{3,}\s+(?=[A-Z]))", re.IGNORECASE)
# "TOTAL" as OCR misreads it: "Totel", "Ttal", "Totai", "IUIAL", "SUB-TCTAL".
TOTAL_MISREAD = r"\b[TI][O0UCE]?[TI][A4E][LI1]\b|SUB\W*[TI][O0UCE]?[TI][A4E][LI1]\b"
# Where the totals start, when the total itself was not found.
TOTALS_RE = re.compile(
    rf"^\W*(SUB\s*-?\s*)?T[O0]T[A4]L|\bT[O0]TAL\b|{TOTAL_MISREAD}|^\W*TOT\b|"
    r"\bSUB\s*-?\s*TOTAL|ITEM\s*COUNT|\bNO\.?\s*QTY|"
    r"\bTOTAL\s*QTY|^\W*QTY\b|\bAMOUNT\s*DUE|\bNETT?\s*(TOTAL|AMOUNT)|\bGRAND\s*TOTAL|"
    r"^\W*ITEMS?\s*(\(S\))?\s*:", re.IGNORECASE)
# Rows of the zone that are no item: totals, tax lines, payments, counts, dates.
# "PAID", "ROUNDING" as OCR misreads them too: "Pald", "RCUNDING"; "Discoun" cut short.
NOT_ITEM_RE = re.compile(
    rf"T[O0]TAL|{TOTAL_MISREAD}|\bTOT\s*QTY|"
    r"\bGST\b|\bTAX\b|\bSST\b|\bVAT\b|\bCASH\b|CHANGE|"
    r"\bTENDER|\bPA[I1L]D\b|\bSUB\s*T[O0]\w*|R[O0C]UNDING|"
    r"PAYMENT\s*:|\bPAY\b\s*:?\s*[\d.,]+$|^\W*PAY\W*$|DISCOUN|\bDISC\b|^\W*TOT\b|"
    r"PROMOTER|SALES\s*PERSON|SERVED\s*BY|\bSERVER\b|"
    r"BALANCE|\bDUE\b|ITEM\s*COUNT|\bNO\.?\s*(OF\s*)?ITEMS?\b|^\W*ITEMS?\s*(\(S\))?\s*:|"
    r"\bVISA\b|MASTER|\bDEPOSIT\b|\bGROSS\b|SERVICE\s*CHARGE|\bSERV\.|\bSRV\b|\bSVC\b|\bSERV(ICE)?\s*CHG|"
    r"SAVING|\bPOINTS?\b|\bEXCL|\bINCL|"
    r"\bDATE\b|\bTIME\b|\bTEL\b|\bINVOICE\b|ADJUST|ROUND|^\W*QTY\b|^\W*@|^\W*AMOUNT\b|"
    r"\bLITRE\b|/LITRE",
    re.IGNORECASE)
# Column headings ("ITEM QTY PRICE AMOUNT"): the item zone starts after them.
HEADING_RE = re.compile(
    r"\b(DESC(RIPTION)?|ITEMS?|ITEM\s*NAME|QTY|QUANTITY|PRICE|AMOUNT|AMT|U/?P|S/PRICE|RSP|"
    r"CODE/DESC|DISC%?|UOM|MENU|TOTAL\(RM\)|TOTAL\(MYR\))(?![A-Za-z])", re.IGNORECASE)
# The end of a receipt's header: the items start after the last such row above them.
HEADER_END_RE = re.compile(
    r"TAX\s*INVOICE|\bCASHIER\b|\bDATE\b|\bTEL\b|\bGST\s*(ID|NO|REG)|\bINVOICE\b|"
    r"\bRECEIPT\b|\bBILL\b|\bTABLE\b|\bSLIP\b|\bCOUNTER\b|ORDER\s*(NO|#|:)|\bMEMBER\b|\bTRN\b|"
    r"\bCUSTOMER\b|\bPAX\b|\bSTAFF\b|\bTERMINAL\b", re.IGNORECASE)
# Exactly two decimals: a text row may print "425G (2.333X" but not a price.
PRICE_RE = re.compile(r"(?<![\d.,])-?\d+[.,]\d{2}(?![\d.,])")
# Mr DIY-style code lines under a name: "UA12 - 12/144", "HD03-04-06 - 5/40/160".
CODE_LINE_RE = re.compile(r"^\W*[A-Z]{1,3}\s?\d[\w/-]*\s*-\s*[\d/ |]*$", re.IGNORECASE)
# Words a text row may hold that make no item's name worse: a discount is no total.
TEXT_EXCLUDE_RE = re.compile(
    NOT_ITEM_RE.pattern.replace("DISCOUN|\\bDISC\\b|", "").replace("\\bCASH\\b|", ""),
    re.IGNORECASE)
# Boxes beside a name on a text row that are no part of it: an item number, a unit.
UNIT_BOX_RE = re.compile(r"^\W*(\d{1,3}|PCS?|UNITS?|EA|NOS|PKTS?|KG|SET|BOX)\W*$", re.IGNORECASE)
# A column of codes beside the name: "LSF1-PSI", "MFF350", "AOA1-ADI".
CODE_RE = re.compile(r"^[A-Z]{1,5}\d[\w-]*$|^[A-Z]{2,5}-\w*\d\w*$", re.IGNORECASE)
WORD_RE = re.compile(r"[A-Za-z]{3,}")


@dataclass
class _ItemRow:
    row: Row
    amount: str
    words: str  # the row's own description text, "" when it has none


def extract_items(rows: list[Row], columns: list[ColumnSpec], end: int | None = None
                  ) -> FieldValue:
    """The receipt's line items as a table field. ``end`` is the index of the row holding the
    total, when known: the items end before it."""
    if end is not None and not NOT_ITEM_RE.search(rows[end].text):
        end = None  # the "total" was a guess on an item row
    found = {r.index: c for r in rows[: end if end is not None else len(rows)]
             if (c := _item_row(r)) is not None}
    found = _without_repeats(found)
    if not found:
        return FieldValue("", 0.0, None, rows=())
    first = min(found)
    headings = [r.index for r in rows[:first] if len(HEADING_RE.findall(r.text)) >= 2]
    header = [r.index for r in rows[:first] if HEADER_END_RE.search(r.text)]
    start = max([*headings, *header[-1:], 2]) + 1 if headings or header else min(3, first)
    stop = _zone_stop(rows, max(start, first), found, end)
    items = [c for i, c in sorted(found.items()) if start <= i < stop]
    if not items:
        return FieldValue("", 0.0, None, rows=())
    text = {r.index: r for r in rows[start:stop] if r.index not in found and _text_row(r)}
    below = _descriptions_below(items, text, stop)
    table = []
    for k, item in enumerate(items):
        nxt = items[k + 1].row.index if k + 1 < len(items) else stop
        if item.words:
            # The rows under it that run into the next item are the rest of its name (unless
            # this receipt puts names above, where they are the next item's).
            run = [] if below is False else _run(text, item.row.index + 1, nxt)
            extra = run if run and run[-1].index + 1 in (nxt, stop) else []
        elif below:
            extra = _run(text, item.row.index + 1, nxt)
        else:
            # Between the item before and this one; above the first, two rows at most (the
            # header's last lines may sit there).
            prev = items[k - 1].row.index if k else max(start, item.row.index - 2) - 1
            extra = _run(text, prev + 1, item.row.index)
        extra = [r for r in extra if not CODE_LINE_RE.match(r.text)] or extra
        for r in extra:
            text.pop(r.index, None)
        parts = [item.words] if item.words else []
        parts += [w for r in extra if (w := _row_words(r))]
        table.append(_item(item, " ".join(parts), [item.row, *extra], columns))
    confidence = min(r.cells[columns[-1].name].confidence for r in table) if columns else 0.0
    return FieldValue("", round(confidence, 4), None, rows=tuple(table))


def _zone_stop(rows: list[Row], start: int, found: dict[int, _ItemRow], end: int | None) -> int:
    """The first totals row after the items, or the total's row. A totals row followed by a
    named item is a subtotal between groups of items ("TOTAL 0% SUPPLIES"): the items go on."""
    last = end if end is not None else len(rows)
    for r in rows[start:last]:
        if TOTALS_RE.search(r.text) and r.index not in found:
            nxt = found.get(r.index + 1)
            if nxt is None or not nxt.words:
                return r.index
    return last


def _item_row(row: Row) -> _ItemRow | None:
    text = NUMBER_JUNK_RE.sub("", row.text)
    m = LINE_AMOUNT_RE.search(text)
    if m is None:
        return None
    raw = m.group(1)
    # "1,234.56" and "12,50": the last separator is the decimal point, the others group.
    amount = ("-" if raw.startswith("-") else "") + re.sub(r"\D", "", raw[:-3]) + "." + raw[-2:]
    # A discount for the item above: an item with a negative amount.
    discount = amount.startswith("-") and DISCOUNT_RE.search(text) and not re.search(
        r"T[O0]TAL", text, re.IGNORECASE)
    if NOT_ITEM_RE.search(text) and not discount:
        return None
    words = _box_words(row, m.group(1))
    if not words and len(AMOUNT_RE.findall(text)) == 1 and not re.search(r"[A-Za-z]", text):
        return None  # an amount alone: a wrapped price or a repeated line total, no item
    return _ItemRow(row, amount, words)


def _without_repeats(found: dict[int, _ItemRow]) -> dict[int, _ItemRow]:
    """The item rows, less the rows of numbers without a name that repeat what is above them:
    a line of the item above (:func:`_part_of`), or the sum of the items above printed with no
    word (Domino's "14.80 45.70" under three items of 45.70)."""
    kept: dict[int, _ItemRow] = {}
    above = Decimal(0)
    for i in sorted(found):
        item = found[i]
        if not item.words and (
                (i - 1 in kept and _part_of(item, kept[i - 1]))
                or (len(kept) >= 2 and above and Decimal(item.amount) == above
                    and not re.search(r"[A-Za-z]", item.row.text))):
            continue
        kept[i] = item
        above += Decimal(item.amount)
    return kept


def _part_of(item: _ItemRow, above: _ItemRow) -> bool:
    """A row of numbers without a name under an item is that item's, no second one: amounts
    alone ending in its amount (Domino's "Disc Price" columns: "8.40 15.60" under "1 6"HT (KB)
    15.60"), or its quantity times its unit price ("03 X RM 2.50" under "... RM7.50")."""
    text = item.row.text
    if item.amount == above.amount and not re.search(r"[A-Za-z]", text):
        return True
    m = QUANTITY_RE.search(text)
    quantity = next((g for g in m.groups() if g), "") if m else ""
    try:
        # Not one of them: a row "1 x 2.80 2.80" under a name read with its price is the item.
        return bool(quantity) and Decimal(quantity) > 1 and \
            Decimal(quantity) * Decimal(item.amount) == Decimal(above.amount)
    except InvalidOperation:
        return False


def _box_words(row: Row, amount: str) -> str:
    """The item row's own name: its boxes before the amount that hold words, each cleaned of
    codes and numbers around the name; a box that is only a code ("MFF350") is no name."""
    parts = []
    for line in row.lines:
        text = line.text
        at = max(text.rfind(amount), text.replace(",", ".").rfind(amount))
        if at >= 0:
            # The amount's own box: what is printed before it in the box, if anything, is
            # the name (an OCR engine often reads a whole row as one box).
            tokens = text[:at].split()
            while tokens and NOT_WORD_RE.match(tokens[-1]):
                tokens.pop()  # the quantity and unit price printed before the amount
            text = " ".join(tokens)
        if WORD_RE.search(text):
            # A name keeps its numbers ("FUELSAVE 95"), not a price printed in its box.
            words = re.sub(rf"(\s+(?:{AMOUNT}|@|\d{{1,3}}\s?[X×]|[X×]\s?\d{{1,3}}))+\s*$", "",
                           _text_words(text), flags=re.IGNORECASE)
        else:
            words = _words(text)
        if (re.search(r"[A-Za-z]", words) and not NOT_WORD_RE.match(words)
                and not CODE_RE.match(words)):
            parts.append(words)
        if at >= 0:
            break
    name = " ".join(parts)
    return name if WORD_RE.search(name) or len(parts) > 1 or re.search(r"\d\D+", name) else ""


def _text_row(row: Row) -> bool:
    return (bool(re.search(r"[A-Za-z]", row.text)) and not PRICE_RE.search(row.text)
            and not TEXT_EXCLUDE_RE.search(row.text) and len(HEADING_RE.findall(row.text)) < 2
            and not all(re.fullmatch(r"\W*(RM|MYR|USD|\$)\W*", t, re.IGNORECASE)
                        for t in row.text.replace("|", " ").split()))


def _descriptions_below(items: list[_ItemRow], text: dict[int, Row], stop: int) -> bool | None:
    """Whether this receipt prints names below the numbers (True), above them (False), or on
    the item rows themselves (None)."""
    bare = [c for c in items if not c.words]
    if not bare:
        return None
    last = items[-1].row.index
    if any(i in text for i in range(last + 1, stop)):
        return True  # text rows after the last numbers: the last item's name
    first = items[0].row.index
    return not any(i in text for i in range(first - 2, first))


def _run(text: dict[int, Row], start: int, stop: int) -> list[Row]:
    return [text[i] for i in range(start, stop) if i in text]


def _words(text: str) -> str:
    """A name in an item row's box, without the codes, quantities, prices and tax codes around
    it, and without a leading bullet or item number ("- LAMINATE FILM", "1. 2012-0029 ...")."""
    tokens = _text_words(text).split()
    while tokens and NOT_WORD_RE.match(tokens[0]):
        tokens.pop(0)
    while tokens and NOT_WORD_RE.match(tokens[-1]):
        tokens.pop()
    return " ".join(tokens).lstrip("-*: ").rstrip(" :")


def _row_words(row: Row) -> str:
    """A text row's name: its boxes but an item number or a unit beside it."""
    boxes = [ln.text for ln in row.lines if not UNIT_BOX_RE.match(ln.text)] or \
        [ln.text for ln in row.lines]
    return _text_words(" ".join(boxes))


def _text_words(text: str) -> str:
    """A name on a text row, as printed: only its leading codes, bullet or item number and its
    trailing tax marks ("*S") go."""
    text = text.replace("|", " ").strip()
    text = LEADING_CODE_RE.sub("", text.lstrip("-*:~ "))
    tokens = text.split()
    while tokens and re.fullmatch(r"\*[A-Z]?|SR-?|ZRL|ZR|[A-Z][-*]", tokens[-1], re.IGNORECASE):
        tokens.pop()
    # Numbers an OCR box ran on into ("CR-VANILLA 0.72 20 0 0 20": its price and counts): a
    # trailing run of numbers holding a price goes; a name's own number stays ("FUELSAVE 95").
    run = len(tokens)
    while run and re.fullmatch(r"-?\d+(?:[.,]\d+)?", tokens[run - 1]):
        run -= 1
    if run and any(re.fullmatch(r"-?\d+[.,]\d{2}", t) for t in tokens[run:]):
        tokens = tokens[:run]
    return " ".join(tokens).lstrip("-*:~ ").rstrip(" :")


def _item(item: _ItemRow, description: str, rows: list[Row], columns: list[ColumnSpec]
          ) -> ItemRow:
    quantity, unit = _quantity_and_unit(item.row.text, Decimal(item.amount))
    confidence = min(r.score for r in rows) * (0.8 if description else 0.4)
    values = {"description": description, "quantity": quantity, "unit_price": unit,
              "amount": item.amount}
    cells = {col.name: FieldValue(values.get(col.name, ""), round(confidence, 4))
             for col in columns}
    return ItemRow(cells, union_box([r.box for r in rows]))


def _quantity_and_unit(text: str, amount: Decimal) -> tuple[str, str]:
    text = NUMBER_JUNK_RE.sub("", text)
    amounts = [a.replace(",", "") for a in AMOUNT_RE.findall(text)]
    prices = [a for a in amounts[:-1] if not a.startswith("-")]
    m = QUANTITY_RE.search(text) or LEADING_QUANTITY_RE.search(text)
    quantity = next((g for g in m.groups() if g), "") if m else ""
    try:
        if quantity:
            q = Decimal(quantity)
            for price in prices:
                if q and abs(Decimal(price) * q - abs(amount)) <= Decimal("0.05"):
                    return quantity, price
        for price in prices:
            unit = Decimal(price)
            if unit and (abs(amount) / unit) % 1 == 0 and 1 <= abs(amount) / unit <= 99:
                return quantity or str(int(abs(amount) / unit)), price
    except InvalidOperation:
        pass
    return quantity, ""
