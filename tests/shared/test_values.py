"""Typed values (shared/values): printed text to ISO dates, decimal amounts with ISO 4217
currencies and the other kinds, with the receipt's own hints; and the validation rules."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.documents.lines import TextLine
from shared.values import read_hints, typed
from shared.values.checks import DEFAULT_RULES, Receipt, check, load_rules, typed_receipt
from shared.values.taxes import printed_adjustments


def _typed(kind: str, printed: str, *context: str) -> dict[str, Any] | None:
    return typed(kind, printed, read_hints([*context, printed]))


@pytest.mark.parametrize(("printed", "context", "iso", "ambiguous"), [
    ("25/12/2018", (), "2018-12-25", False),
    ("Fri, 29-12-2017", (), "2017-12-29", False),
    ("03 MAR 2018", (), "2018-03-03", False),
    ("OCT 3, 2016", (), "2016-10-03", False),
    ("30. Dezember 2017", (), "2017-12-30", False),
    ("20180304", (), "2018-03-04", False),
    ("11.02.18", ("MwSt 19%",), "2018-02-11", False),  # German VAT: a German date
    # Apostrophe years and glued forms, as the rules read them off US and UK receipts:
    ("08FEB'15", (), "2015-02-08", False),
    ("DEC23'14", (), "2014-12-23", False),
    ("JUL/15/2017", (), "2017-07-15", False),
    # Day and month either way round: the country, else the receipt's other dates, tell...
    ("01/02/2018", ("Kuala Lumpur, Malaysia",), "2018-02-01", False),
    ("01/02/2018", ("San Francisco, CA 94103",), "2018-01-02", False),
    ("01/02/2018", ("PRINTED 13/02/2018",), "2018-02-01", False),
    # ... and when nothing does, the reading is flagged, not silently guessed.
    ("01/02/2018", (), "2018-02-01", True),
])
def test_dates_become_iso(printed: str, context: tuple[str, ...], iso: str,
                          ambiguous: bool) -> None:
    value = _typed("date", printed, *context)
    assert value is not None
    assert (value["type"], value["value"], value["ambiguous"]) == ("date", iso, ambiguous)
    if ambiguous:
        assert value["other"] == "2018-01-02"


@pytest.mark.parametrize("printed", ["31/31/2018", "no date here", "", "99.99.99"])
def test_an_impossible_date_has_no_typed_value(printed: str) -> None:
    assert _typed("date", printed) is None


@pytest.mark.parametrize(("printed", "context", "value", "currency"), [
    ("RM 14.10", (), "14.10", "MYR"),
    ("$1,234.50", ("New York, NY 10001",), "1234.50", "USD"),
    ("1.234,50 €", (), "1234.50", "EUR"),
    ("14,10", ("Berlin Deutschland",), "14.10", "EUR"),  # a decimal comma
    ("£3.20", (), "3.20", "GBP"),
    ("43.7", ("TOTAL RM 1.00",), "43.70", "MYR"),  # the receipt's currency, its decimals
    ("¥1,200", (), "1200", "JPY"),  # no minor unit
    ("9", (), "9.00", None),  # no currency anywhere: none guessed
    ("-5.59", (), "-5.59", None),
    ("5.59-", (), "-5.59", None),
    ("(5.59)", (), "-5.59", None),
    ("DISC -RM 0.24", (), "-0.24", "MYR"),
])
def test_amounts_become_decimals_with_a_currency(printed: str, context: tuple[str, ...],
                                                 value: str, currency: str | None) -> None:
    assert _typed("amount", printed, *context) == {"type": "amount", "value": value,
                                                    "currency": currency}


def test_a_tax_keeps_its_printed_rate() -> None:
    assert _typed("tax", "GST 6% 1.44", "RM") == {"type": "amount", "value": "1.44",
                                                  "currency": "MYR", "rate": "6"}
    # A US sales tax's rate has three decimals: none of its digits is the amount.
    assert _typed("tax", "2.85 (4.167%)") == {"type": "amount", "value": "2.85",
                                              "currency": None, "rate": "4.167"}


@pytest.mark.parametrize(("kind", "printed", "context", "expected"), [
    ("currency", "RM", (), {"type": "currency", "value": "MYR"}),
    ("currency", "eur", (), {"type": "currency", "value": "EUR"}),
    ("phone", "07-1234567", ("Johor, Malaysia",), {"type": "phone", "value": "+6071234567"}),
    ("phone", "+60 7-123 4567", (), {"type": "phone", "value": "+6071234567"}),
    ("payment_method", "VISA CARD", (), {"type": "payment_method", "value": "card",
                                         "network": "visa"}),
    ("payment_method", "TUNAI", (), {"type": "payment_method", "value": "cash",
                                     "network": None}),
    ("receipt_number", " # INV-00123 ", (), {"type": "text", "value": "INV-00123"}),
    ("company", "ABC SDN BHD", (), None),  # text kinds have no typed value
])
def test_other_kinds(kind: str, printed: str, context: tuple[str, ...],
                     expected: dict[str, Any] | None) -> None:
    assert _typed(kind, printed, *context) == expected


# --- validation rules ----------------------------------------------------------------------

KINDS = {"date": "date", "total": "amount", "subtotal": "subtotal", "tax": "tax"}
TODAY = dt.date(2026, 12, 1)


def _receipt(items: list[dict[str, str]] | None = None, **printed: str) -> Receipt:
    hints = read_hints(printed.values())
    return Receipt({k: typed(KINDS[k], v, hints) for k, v in printed.items()}, KINDS,
                   {"items": items or []}, hints, TODAY)


def _reasons(receipt: Receipt, rules: Any = DEFAULT_RULES) -> list[tuple[str, str]]:
    return [(r.rule, r.message) for r in check(receipt, rules)]


def test_a_consistent_receipt_passes_every_rule() -> None:
    items = [{"description": "TEA", "amount": "2.00"}, {"description": "RICE", "amount": "8.00"},
             {"description": "MEMBER DISCOUNT", "amount": "-0.50"}]
    assert _reasons(_receipt(items, date="25/12/2018", total="10.07", subtotal="9.50",
                             tax="0.57")) == []


@pytest.mark.parametrize(("printed", "items", "rule", "message"), [
    ({"total": "73.00"}, [{"amount": "60.00"}, {"amount": "8.87"}], "items_sum",
     "items sum to 68.87 but the total is 73.00"),
    ({"total": "73.00", "subtotal": "70.00", "tax": "3.00"}, [{"amount": "68.87"}],
     "items_sum", "items sum to 68.87 but the subtotal or the total is 73.00 / 70.00"),
    ({"total": "12.00", "subtotal": "10.00", "tax": "0.60"}, [], "subtotal_tax_total",
     "subtotal 10.00 + tax 0.60 = 10.60, but the total is 12.00"),
    # No tax read, nothing printed on top: the total is the cash tendered (sroie-318).
    ({"total": "50.00", "subtotal": "25.00"}, [], "subtotal_tax_total",
     "the subtotal 25.00 with the taxes and charges printed (none read) does not make the total "
     "50.00"),
    ({"date": "25/12/2031"}, [], "date_not_future", "the date 2031-12-25 is in the future"),
    ({"date": "25/12/1995"}, [], "date_after", "the date 1995-12-25 is before 2000"),
    ({"date": "01/02/2018"}, [], "date_unambiguous",
     "the date could be 2018-02-01 or 2018-01-02: nothing on the receipt tells day from "
     "month"),
    ({"total": "0.00"}, [], "total_positive", "the total is 0.00: not more than zero"),
])
def test_each_rule_names_what_is_wrong(printed: dict[str, str], items: list[dict[str, str]],
                                       rule: str, message: str) -> None:
    assert _reasons(_receipt(items, **printed)) == [(rule, message)]


@pytest.mark.parametrize("printed", [
    {"total": "343.95", "subtotal": "295.00", "tax": "19.47"},  # + 10% service, rounded
    {"total": "47.70", "subtotal": "47.70", "tax": "2.70"},  # a subtotal inclusive of tax
    {"total": "10.62", "subtotal": "10.00", "tax": "0.60"},  # rounding within 0.05
])
def test_service_charges_rounding_and_inclusive_subtotals_are_no_failure(
        printed: dict[str, str]) -> None:
    assert _reasons(_receipt(**printed)) == []


def test_a_subtotal_without_a_tax_field_takes_the_taxes_printed() -> None:
    page = _printed("TEH TARIK  3.00", "SUBTOTAL  11.00", "GST 6%  0.66", "TOTAL  11.66")
    kinds = {"total": "amount", "subtotal": "subtotal"}
    right = typed_receipt({"total": "11.66", "subtotal": "11.00"}, kinds, {}, [page], TODAY)
    cash = typed_receipt({"total": "20.00", "subtotal": "11.00"}, kinds, {}, [page], TODAY)
    assert _reasons(right) == []
    assert _reasons(cash) == [("subtotal_tax_total", "the subtotal 11.00 with the taxes and "
                               "charges printed (0.66) does not make the total 20.00")]


def test_items_may_sum_to_the_total_less_its_tax() -> None:
    assert _reasons(_receipt([{"amount": "94.34"}], total="100.00", tax="5.66")) == []


def _printed(*rows: str) -> list[TextLine]:
    """A page's lines, one row per argument; "WORDS  AMOUNT" prints the amount in its own box at
    the right, as OCR and text layers split a receipt's rows."""
    lines = []
    for i, row in enumerate(rows):
        words, _, amount = row.rpartition("  ")
        y = 20 + 30 * i
        lines.append(TextLine(words or row, (20, y, 200, y + 20)))
        if words:
            lines.append(TextLine(amount, (380, y, 440, y + 20)))
    return lines


def test_the_taxes_charges_and_discounts_printed_are_read_from_their_rows() -> None:
    page = _printed("TEH TARIK  3.00", "GST ID: 000123456789", "SUB TOTAL BEFORE DISCOUNT  11.00",
                    "SERVICE CHARGE 10%  1.10", "GST @6%  0.73", "MEMBER DISC 10%  1.20",
                    "TOTAL  11.63", "CASH  20.00")
    assert printed_adjustments([page]) == (Decimal("1.10"), Decimal("0.73"), Decimal("-1.20"))
    # Each page's rows are its own: a rate on one page does not take an amount of the other.
    assert printed_adjustments([_printed("SST 6%"), _printed("TOTAL  12.83")]) == ()
    assert printed_adjustments([_printed("MwSt 19%  1,60")], read_hints(["EUR"])) == (
        Decimal("1.60"),)


@pytest.mark.parametrize(("rows", "total", "reasons"), [
    (("GST 6%  0.66",), "11.66", []),  # priced before tax
    (("SERVICE CHARGE 10%  1.10", "GST 6%  0.73"), "12.83", []),  # both on top
    (("Coupon Discount  8.40",), "2.60", []),  # a coupon came off
    (("DISCOUNT 10%  1.10",), "12.10", ["items_sum"]),  # a discount adds nothing
    (("CASH  12.32", "CHANGE  0.66"), "11.66", ["items_sum"]),  # no tax printed
])
def test_items_may_sum_to_the_total_with_the_tax_and_charges_the_receipt_prints(
        rows: tuple[str, ...], total: str, reasons: list[str]) -> None:
    page = _printed("TEH TARIK  3.00", "NASI LEMAK  8.00", *rows, f"TOTAL  {total}")
    receipt = typed_receipt({"total": total}, {"total": "amount"},
                            {"items": [{"amount": "3.00"}, {"amount": "8.00"}]}, [page], TODAY)
    assert [r for r, _ in _reasons(receipt)] == reasons


def test_the_rules_are_data(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps([{"rule": "date_after", "year": 2020},
                                {"rule": "items_sum", "tolerance": "1.00"}]))
    rules = load_rules(path)
    receipt = _receipt([{"amount": "72.50"}], date="25/12/2018", total="73.00")
    assert _reasons(receipt, rules) == [("date_after", "the date 2018-12-25 is before 2020")]
    assert [r for r, _ in _reasons(receipt)] == ["items_sum"]  # the default tolerance: 0.05


@pytest.mark.parametrize(("content", "message"), [
    ('{"rule": "items_sum"}', "must hold a JSON list"),
    ('[{"rule": "total_is_round"}]', "unknown validation rules ['total_is_round']"),
])
def test_a_bad_rules_file_says_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "rules.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_rules(path)


@pytest.mark.parametrize(("rules", "message"), [
    ([{"rule": "items_sum", "tolerence": "0.05"}], "rule 'items_sum': .*tolerence.*its "
                                                   r"options: \['tolerance'\]"),
    ([{"rule": "items_sum", "tolerance": "a cent"}], "rule 'items_sum': a bad option value"),
    ([{"rule": "date_after", "year": "MMXX"}], "rule 'date_after': a bad option value"),
])
def test_a_rule_with_a_bad_option_is_refused_at_start_up(tmp_path: Path, rules: Any,
                                                         message: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from shared.config import Settings, describe_error

    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    monkeypatch.setenv("RECEIPTFLOW_VALIDATION_FILE", str(path))
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "RECEIPTFLOW_VALIDATION_FILE" in describe_error(err.value)
    assert re.search(message, describe_error(err.value)), describe_error(err.value)
