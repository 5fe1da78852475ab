"""The total amount paid: the amount after the strongest "TOTAL"-like keyword."""

from __future__ import annotations

import re

from shared.documents.lines import TextLine
from shared.documents.rows import Row
from shared.engines.base import FieldValue
from shared.values.taxes import NOT_TAX_RE, TAX_RE

# An amount with two decimals: "9.00", "1,234.50", "RM 30.91" (the currency is dropped).
# A minus right before it is kept: a credit note's total is negative ("TOTAL PAYABLE: -1.73");
# not one glued to a colon (":-51.88": the colon's dot read twice).
# OCR doubles a point now and then ("$72..95").
AMOUNT_RE = re.compile(
    r"(?:(?<![\w.:-])(?P<sign>-)(?=\d))?(?<![\d.])(?P<units>\d{1,3}(?:,\d{3})+|\d+)\s?([.,]|\.\.)\s?"
    r"(?P<cents>\d{2})(?![\d%])")
# Next to a total keyword the decimal point may be misread as "-" or a space ("19-80", "10 00").
LOOSE_AMOUNT_RE = re.compile(
    r"(?<![\d.])(?P<units>\d{1,3}(?:,\d{3})+|\d+)\s?[.,\- ]\s?(?P<cents>\d{2})(?![\d%])"
)
# An amount in a currency without cents, or with three decimals, as printed next to a total
# keyword: "224,400" (rupiah), "48.000" (dong), "19.729" (dinar). Only on a keyword's row.
GROUPED_AMOUNT_RE = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,]\d{3})+(?![.,]?\d)")
# Specks OCR reads inside numbers ("72.°74"): dropped before matching amounts.
NUMBER_JUNK_RE = re.compile(r"(?<=[\d.,])[°'`´]+(?=\d)")
# Where the GST/tax summary table starts: its "Total" row sums the tax columns, not the bill.
SUMMARY_RE = re.compile(r"GST\s*SUM|TAX\s*SUM|SUMMARY|^\W*TAX\s*CODE", re.IGNORECASE)
# "TOTAL" as OCR misreads it: "Tetal", "Totel", "T0TAL", "Ttal"; both Ts read as I on faded
# print ("IUIAL", "SUBIUIAL"), which no word holds.
TOTAL = r"(?:T[O0EU]?T[A4E]L|I[UO0]I[A4]L)"

# Keywords naming the total, strongest first: the amount actually paid (rounded, incl. tax)
# beats a plain "TOTAL", which beats a generic "AMOUNT".
TOTAL_KEYWORDS: tuple[tuple[float, re.Pattern[str]], ...] = (
    (1.0, re.compile(rf"ROUND(ED|ING)?\s*(D\s*)?{TOTAL}|{TOTAL}\s*(AMT\s*)?ROUND"
                     rf"|NETT?\s*{TOTAL}|GRAND\s*{TOTAL}|{TOTAL}\s*(AMT|AMOUNT)?\s*PAYABLE"
                     rf"|{TOTAL}\s*(AMOUNT|AMT)?\s*\(?\s*INCL|{TOTAL}\s*SALES?\s*\(?\s*INCL"
                     rf"|{TOTAL}\s*(RM\s*)?INCL|{TOTAL}\s*DUE|AMOUNT\s*DUE|NET\s*AMOUNT|AMOUNT\s*PAYABLE",
                     re.IGNORECASE)),
    (0.85, re.compile(rf"\b{TOTAL}\s*(AMOUNT|AMT)?\s*(\(RM\)|RM)?\b|{TOTAL}\s*:|\bJUMLAH\b"
                      # German, French, Italian, Spanish, Dutch, Portuguese, Indonesian:
                      r"|\bSUMME\b|\bGESAMT|\bZU\s*ZAHLEN|\bBETRAG\b|\bMONTANT\b|\bTOTALE\b"
                      r"|\bTOTAAL\b|\bIMPORTE\b|\bA\s*PAYER\b|\bTTC\b|\bBALANCE\s*DUE\b"
                      r"|\bTOTAL\s*BAYAR\b|\bSUMA\b"
                      # Estonian, Finnish, Scandinavian, Polish, Czech, Turkish, Hungarian:
                      r"|\bKOKKU\b|\bYHTEENS[AÄ]\b|\bTOTALT\b|\bATT\s*BETALA\b|\bI\s*ALT\b"
                      r"|\bRAZEM\b|\bCELKEM\b|\bTOPLAM\b|\b[ÖO]SSZESEN\b",
                      re.IGNORECASE)),
    # "Rounding RM 45.35" after a "Rounding Adjustment" row: the rounded total.
    (0.8, re.compile(r"^\W*ROUND(ING|ED)?\b(?!\s*ADJ)", re.IGNORECASE)),
    (0.5, re.compile(rf"\b{TOTAL}|\bAMOUNT\b|\bAMT\b|\bTL\b", re.IGNORECASE)),
)
# A subtotal: the total paid only when nothing better is printed (no tax, no rounding).
SUBTOTAL_RE = re.compile(
    rf"SUB\s*[-_]?\s*({TOTAL}|TOT\b)|TOTAL\s*(SALES\s*)?\(?\s*EXCL|TOTAL\s*EXCL|ZWISCHENSUMME"
    r"|SOUS-TOTAL|SUBTOTAAL|NET\s*SALES", re.IGNORECASE)
SUBTOTAL_WEIGHT = 0.3
# The rounding adjustment: a total printed after it is the rounded amount actually paid.
ROUNDING_ADJ_RE = re.compile(r"ROUND(ING)?\s*ADJ", re.IGNORECASE)
# A rounding row in a sum under the subtotal ("Rounding (RM) : -0.02"), adjustment or not.
ROUNDING_RE = re.compile(r"\bROUNDING\b", re.IGNORECASE)
# A minus before an adjustment's amount or after it ("-RM0.01", "0.02-").
ADJUSTMENT_MINUS_RE = re.compile(r"-\s*(RM\s*)?[\d.,]|\d-\s*$")
# An adjustment printed as cents alone ("Rounding Adjustment RM .01", OCR's ",02").
CENTS_ONLY_RE = re.compile(r"(?<![\d.,])[.,]\s?(\d{2})(?![\d.,])")
ROUNDED_BONUS = 0.25
# Rows naming something other than the total paid.
NOT_TOTAL_RE = re.compile(
    r"SUB\s*-?\s*TOTAL|TOTAL\s*(QTY|QUANTITY|ITEM|NO|EXCL|GST|TAX|DISC|SAVING|SAVED|UNIT|PCS"
    r"|POINT|PROMO)|\bYOU\s*SAVED?\b"
    r"|\b(GST|TAX|SST|CHANGE|CASH|TENDER|PAID|DISCOUNT|ROUNDING\s*ADJ|ADJ|QTY|ITEMS?\b)"
    r"|EXCL|EXCLUSIVE|TAX\s*AMT|SERVICE|GST\s*@|^\W*\(",
    re.IGNORECASE,
)


def _amounts(line: TextLine, loose: bool = False) -> list[str]:
    """Amounts in a line, normalised to digits and one decimal point."""
    text = NUMBER_JUNK_RE.sub("", line.text)
    pattern = LOOSE_AMOUNT_RE if loose else AMOUNT_RE
    return [amount_text(m) for m in pattern.finditer(text)]


def amount_text(m: re.Match[str]) -> str:
    """A matched amount as digits and one decimal point ("1,234.50", "-1.73")."""
    sign = m.groupdict().get("sign") or ""
    return f"{sign}{m.group('units')}.{m.group('cents')}"


# "TOTAL INCLUDES 6% GST 1.44", "*6% GST INCLUDED 1.87": the tax in the total, not the total.
TAX_INCLUDED_RE = re.compile(
    r"INCLUDE[SD]?\s*(\d+(\.\d+)?\s*%\s*)?(GST|SST|TAX|VAT)\s*(@\s*)?\d+(\.\d+)?\s*%"
    r"|INCLUDES?\s*\d+(\.\d+)?\s*%\s*(GST|SST|TAX|VAT)|(GST|SST|TAX|VAT)\s*INCLUDED",
    re.IGNORECASE)
# What the customer handed over, and got back: the total paid is their difference.
TENDERED_RE = re.compile(r"\bCASH\b|TEN[DO]ER|\bPAID\b|\bPAY(MENT)?\b|ACCEPTED|RECEIVED",
                         re.IGNORECASE)
CHANGE_RE = re.compile(r"\bCHANGE\b|\bBAKI\b", re.IGNORECASE)
# A card charged: it is charged the total, to the cent (cash may be more, and get change back).
CARD_RE = re.compile(r"\b(VISA|MASTER\s*CARD|MC|AMEX|AMERICAN\s*EXPRESS|DISCOVER|DEBIT|CREDIT"
                     r"|EFTPOS|MAESTRO|CARTE\s*BANCAIRE|CB|EC[- ]?KARTE)\b", re.IGNORECASE)
# A charge this much above the subtotal is still its tax and tip, not another purchase.
CHARGE_OVER_SUBTOTAL = 1.35


def total_keyword_weight(text: str) -> float:
    """How surely a row's words name the total paid: 1.0 for "GRAND TOTAL" and the like,
    SUBTOTAL_WEIGHT for a subtotal, 0.0 for tax, change, cash and rows naming no total."""
    if TAX_INCLUDED_RE.search(text):
        return 0.0
    subtotal = SUBTOTAL_RE.search(text)  # "SOUS-TOTAL" holds "TOTAL" too
    if (subtotal or NOT_TOTAL_RE.search(text)) and not TOTAL_KEYWORDS[0][1].search(text):
        return SUBTOTAL_WEIGHT if subtotal else 0.0
    for weight, pattern in TOTAL_KEYWORDS:
        if pattern.search(text):
            return weight
    return 0.0


def _right_column_weight(row: Row) -> float:
    """The total keyword's weight of a row's right-hand pair of label and amount, where the
    receipt prints two columns of them and the left pair names no total ("TOTAL SAVING: 0.00
    | TOTAL 6.85")."""
    for k in range(1, len(row.lines)):
        if _amounts(row.lines[k - 1]):  # the left pair ends in its amount
            right = " ".join(line.text for line in row.lines[k:])
            if weight := total_keyword_weight(right):
                return weight
    return 0.0


def _amount_after(row: Row, rows: list[Row]) -> tuple[str, TextLine] | None:
    """The amount on the keyword's row (rightmost), else alone on the next row."""
    for line in reversed(row.lines):
        found = (_amounts(line) or _amounts(line, loose=True)
                 or GROUPED_AMOUNT_RE.findall(NUMBER_JUNK_RE.sub("", line.text)))
        if found:
            return found[-1], line
    nxt = rows[row.index + 1] if row.index + 1 < len(rows) else None
    if nxt is not None and total_keyword_weight(nxt.text) == 0.0:
        # "TOTAL" alone on its row: the amount is on the next row (often the "CASH" one).
        for line in reversed(nxt.lines):
            found = _amounts(line) or GROUPED_AMOUNT_RE.findall(line.text)
            # Not a negative amount: that is the payment's ("Cash -100.00").
            if found and len(line.text) < 16 and not found[-1].startswith("-"):
                return found[-1], line
    return None


def _to_float(amount: str) -> float:
    return float(amount.replace(",", ""))


def extract_total(rows: list[Row]) -> FieldValue:
    """The amount after the strongest total keyword; the latest such row wins a tie.

    Without any keyword, the largest amount on the receipt is a low-confidence guess.
    """
    best: tuple[float, str, TextLine] | None = None
    end = next((r.index for r in rows[len(rows) // 3 :] if SUMMARY_RE.search(r.text)), len(rows))
    rows = rows[:end]
    after_adjustment = False
    for row in rows:
        if ROUNDING_ADJ_RE.search(row.text):
            after_adjustment = best is not None
            continue
        weight = total_keyword_weight(row.text) or _right_column_weight(row)
        if not weight:
            continue
        if after_adjustment and weight >= 0.5:
            weight += ROUNDED_BONUS
        hit = _amount_after(row, rows)
        if hit is None:
            continue
        amount, line = hit
        if _to_float(amount) == 0 or re.match(r"-?0\d", amount):
            continue  # nothing to pay, or a misread ("08.66")
        score = weight * (0.85 + 0.15 * line.score)
        if amount.startswith("-") and _printed(rows, amount[1:], {row.index}) is not None:
            amount = amount[1:]  # a dash before it ("Total -66.49" under "Subtotal 66.49")
        if best is None or score >= best[0]:
            best = (score, amount, line)
    if best is not None and best[0] <= SUBTOTAL_WEIGHT and (
            charged := _charged(rows, best[1])) is not None:
        amount, line = charged
        return FieldValue(amount, 0.5, line.box)
    checked = _paid(rows, best[1] if best else None)
    if checked is not None:
        amount, line = checked
        # The payment's arithmetic agrees with the keyword's amount: sure; or it names
        # another amount, printed too: likelier than the keyword's guess.
        agrees = best is not None and best[1].replace(",", "") == amount
        return FieldValue(amount, 0.9 if agrees else 0.6, line.box)
    if best is not None:
        score, amount, line = best
        return FieldValue(amount, round(min(score * 0.9, 1.0), 4), line.box)
    everything = [
        (a, line)
        for row in rows
        if not NOT_TOTAL_RE.search(row.text)
        for line in row.lines
        for a in _amounts(line)
    ]
    if not everything:
        return FieldValue("", 0.0, None)
    amount, line = max(everything, key=lambda pair: _to_float(pair[0]))
    return FieldValue(amount, 0.15, line.box)


def _row_amount(row: Row, rows: list[Row]) -> str | None:
    hit = _amount_after(row, rows)
    return hit[0].replace(",", "") if hit else None


def _printed(rows: list[Row], amount: str, skip: set[int]) -> TextLine | None:
    """The last line printing ``amount`` (outside rows ``skip``)."""
    found = None
    for row in rows:
        if row.index in skip:
            continue
        for line in row.lines:
            if any(a.replace(",", "") == amount for a in _amounts(line)):
                found = line
    return found


def _paid(rows: list[Row], total: str | None) -> tuple[str, TextLine] | None:
    """The amount the receipt's own arithmetic says was paid, where it says so: the amount
    handed over less the change ("CASH 100.00", "CHANGE 1.65": 98.35), or the keyword total
    plus its rounding adjustment ("TOTAL 60.31", "ROUNDING ADJ -0.01": 60.30). Only an amount
    also printed elsewhere counts (a misread cash line must not invent a total)."""
    amounts = {r.index: a for r in rows if (a := _row_amount(r, rows)) is not None}
    change = next((r for r in rows if r.index in amounts and CHANGE_RE.search(r.text)), None)
    if change is not None:
        above = [r for r in rows[:change.index] if r.index in amounts]
        tendered = next((r for r in reversed(above) if TENDERED_RE.search(r.text)), None)
        if tendered is not None:
            paid = _cents(amounts[tendered.index]) - _cents(amounts[change.index])
            line = _printed(rows, _text(paid), {tendered.index, change.index}) if paid > 0 \
                else None
            if line is None and paid > 0 and _itemised(rows, amounts) == paid:
                # Printed nowhere else (OCR misread the total), but the subtotal, its taxes
                # and the rounding add up to it: two sums agree.
                line = tendered.lines[-1]
            if line is not None:
                return _text(paid), line
    taxed = _taxed_subtotal(rows, amounts, total)
    if taxed is not None:
        return taxed
    if total is None:
        return None
    adjustment = next((r for r in rows if ROUNDING_ADJ_RE.search(r.text)), None)
    cents = _adjustment_cents(adjustment) if adjustment is not None else None
    if cents is not None and 0 < abs(cents) < 10:
        adjusted = _text(_cents(total) + cents)
        line = _printed(rows[adjustment.index + 1:], adjusted, set())
        if line is not None:
            return adjusted, line
    return None


def _charged(rows: list[Row], subtotal: str) -> tuple[str, TextLine] | None:
    """The amount a card was charged, where only a subtotal names an amount ("SUBTOTAL 5.05",
    "VISA 5.74": OCR lost the total's row): a little more than the subtotal, its tax added."""
    low = _to_float(subtotal)
    for row in rows:
        if not CARD_RE.search(row.text) or (hit := _amount_after(row, rows)) is None:
            continue
        if low < _to_float(hit[0]) <= low * CHARGE_OVER_SUBTOTAL:
            return hit
    return None


def _subtotal_row(rows: list[Row], amounts: dict[int, str]) -> Row | None:
    """The first row naming a subtotal that prints an amount."""
    return next((r for r in rows if r.index in amounts and SUBTOTAL_RE.search(r.text)), None)


def _itemised(rows: list[Row], amounts: dict[int, str]) -> int | None:
    """The subtotal plus the taxes printed right under it plus the rounding adjustment, in
    cents ("Sub Total 106.10", "Total GST 6.37", "Rounding -0.02": 11245); None without a
    subtotal and a tax."""
    sub = _subtotal_row(rows, amounts)
    if sub is None:
        return None
    total = _cents(amounts[sub.index])
    taxed = False
    for row in rows[sub.index + 1:sub.index + 5]:
        if ROUNDING_RE.search(row.text):
            total += _adjustment_cents(row) or 0
        elif row.index in amounts and TAX_RE.search(row.text) and not NOT_TAX_RE.search(row.text):
            total += _cents(amounts[row.index])
            taxed = True
    return total if taxed else None


def _adjustment_cents(row: Row) -> int | None:
    """The rounding adjustment printed on its own row, in cents, with its sign ("-RM0.01",
    "0.02-"): an amount, or cents alone (".01"); not an amount on the row below, which is the
    rounded total."""
    found = [a for line in row.lines for a in _amounts(line)]
    if found:
        cents = _cents(found[-1])
    else:
        only = CENTS_ONLY_RE.findall(row.text)
        if not only:
            return None
        cents = int(only[-1])
    return -abs(cents) if ADJUSTMENT_MINUS_RE.search(row.text) else cents


def _taxed_subtotal(rows: list[Row], amounts: dict[int, str], total: str | None
                    ) -> tuple[str, TextLine] | None:
    """The subtotal plus the taxes printed right under it, where that sum is printed below
    them ("SUBTOTAL 192.53", "9.00% TAX 7.83", "TOTFIL 200.36"), and the keyword's total is the
    subtotal itself or missing: a misread or unknown total keyword must not leave the
    pre-tax amount as the total paid."""
    sub = _subtotal_row(rows, amounts)
    if sub is None or (total is not None and total.replace(",", "") != amounts[sub.index]):
        return None
    taxes = []
    for row in rows[sub.index + 1:sub.index + 4]:
        if row.index in amounts and not _cents(amounts[row.index]) and not taxes:
            continue  # "Discount 0.00" between the subtotal and its tax
        if row.index not in amounts or not TAX_RE.search(row.text) or NOT_TAX_RE.search(
                row.text):
            break
        taxes.append(row)
    tax = sum(_cents(amounts[r.index]) for r in taxes)
    if not taxes or tax <= 0:
        return None
    paid = _text(_cents(amounts[sub.index]) + tax)
    line = _printed(rows[taxes[-1].index + 1:], paid, set())
    return (paid, line) if line is not None else None


def _cents(amount: str) -> int:
    return round(_to_float(amount) * 100)


def _text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
