"""The CPU engine's field rules on hand-written OCR lines (no OCR, no cache needed)."""

from __future__ import annotations

import pytest

from shared.documents.lines import TextLine
from shared.engines.base import FieldValue
from shared.engines.ocr.fields import extract_fields
from shared.fields import SROIE_FIELDS, FieldSpec

ROW_HEIGHT = 20.0


def line(text: str, row: int, x0: float = 50.0, width: float | None = None) -> TextLine:
    """One OCR box on printed row ``row`` (rows are ROW_HEIGHT + 4 px apart)."""
    y0 = 10.0 + row * (ROW_HEIGHT + 4)
    x1 = x0 + (width if width is not None else 9.0 * len(text))
    return TextLine(text=text, box=(x0, y0, x1, y0 + ROW_HEIGHT), score=0.98)


RECEIPT = [
    line("tan woon yann", 0),
    line("BOOK TA .K (TAMAN DAYA) SDN BHD", 1),
    line("789417-W", 2),
    line("NO.53 55,57 & 59, JALAN SAGU 18,", 3),
    line("TAMAN DAYA,", 4),
    line("81100 JOHOR BAHRU", 5),
    line("JOHOR.", 6),
    line("TEL: 07-3345678", 7),
    line("Date:", 9),
    line("25/12/2018 8:13:39 PM", 9, x0=160),
    line("KF MODELLING CLAY KIDDY FISH", 11),
    line("9.00", 11, x0=400),
    line("Total :", 12, x0=240),
    line("9.00", 12, x0=400),
    line("Rounded Total (RM):", 13, x0=80),
    line("9.00", 13, x0=400),
    line("Cash", 14, x0=200),
    line("10.00", 14, x0=400),
    line("CHANGE", 15, x0=200),
    line("1.00", 15, x0=400),
]


def values(lines: list[TextLine]) -> dict[str, str]:
    return {name: fv.value for name, fv in extract_fields(lines, SROIE_FIELDS).items()}


def test_full_receipt_fields() -> None:
    result = extract_fields(RECEIPT, SROIE_FIELDS)
    assert result["company"].value == "BOOK TA .K (TAMAN DAYA) SDN BHD"
    assert result["date"].value == "25/12/2018"
    assert result["total"].value == "9.00"
    for fv in result.values():
        assert 0.0 < fv.confidence <= 1.0
        assert fv.box is not None


def test_address_joined_up_to_postcode_and_state_row() -> None:
    result = extract_fields(RECEIPT, SROIE_FIELDS)["address"]
    assert result.value == "NO.53 55,57 & 59, JALAN SAGU 18, TAMAN DAYA, 81100 JOHOR BAHRU JOHOR."
    # The box is the union of the address rows' boxes: from row 3 to row 6.
    first, last = RECEIPT[3], RECEIPT[6]
    assert result.box is not None
    assert result.box[1] == first.y0
    assert result.box[3] == last.y1
    assert result.box[2] == max(ln.x1 for ln in RECEIPT[3:7])


def test_address_skips_registration_and_stops_at_contact_rows() -> None:
    lines = [
        line("SOON HUAT MACHINERY ENTERPRISE", 0),
        line("(JM0352019-K)", 1),
        line("NO.53 JALAN PUTRA 1,", 2),
        line("81200 JOHOR BAHRU TEL: 07-5547360", 3),
        line("GST ID: 002116837376", 4),
    ]
    got = values(lines)
    assert got["company"] == "SOON HUAT MACHINERY ENTERPRISE"
    assert got["address"] == "NO.53 JALAN PUTRA 1, 81200 JOHOR BAHRU"


def test_total_in_separate_box_on_same_row_prefers_rounded_total() -> None:
    lines = [
        line("SUB TOTAL", 0),
        line("30.91", 0, x0=400),
        line("Total Qty", 1),
        line("5", 1, x0=400),
        line("TOTAL", 2),
        line("RM 30.91", 2, x0=400),
        line("TOTAL ROUNDED", 3),
        line("RM 30.90", 3, x0=400),
        line("CASH", 4),
        line("RM 50.00", 4, x0=400),
    ]
    total = extract_fields(lines, SROIE_FIELDS)["total"]
    assert total.value == "30.90"
    assert total.box == lines[7].box


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Date: 25/12/2018 8:13:39 PM", "25/12/2018"),
        ("DATE 18-11-18 12:01", "18-11-18"),
        ("Tarikh: 05.01.2018", "05.01.2018"),
        ("30 DEC 17 14:02", "30 DEC 17"),
        ("Date: 2018-01-05 10:11", "2018-01-05"),
        ("Printed 12-Mar-2018 18:22", "12-MAR-2018"),  # month names are returned upper case
    ],
)
def test_date_formats(text: str, expected: str) -> None:
    assert values([line(text, 0)])["date"] == expected


def test_date_prefers_labelled_date_over_other_dates() -> None:
    lines = [
        line("Valid until 31/12/2019", 0),
        line("Receipt 1234", 1),
        line("Date:", 2),
        line("02/03/2018", 2, x0=200),
    ]
    assert values(lines)["date"] == "02/03/2018"


def test_unknown_field_kind_is_empty_with_zero_confidence() -> None:
    spec = FieldSpec(name="tip", description="the tip", kind="tip")
    result = extract_fields(RECEIPT, [spec, *SROIE_FIELDS])
    assert result["tip"] == FieldValue("", 0.0, None)
    assert result["total"].value == "9.00"


def test_empty_input_gives_all_fields_empty() -> None:
    result = extract_fields([], SROIE_FIELDS)
    assert set(result) == {spec.name for spec in SROIE_FIELDS}
    assert all(fv == FieldValue("", 0.0, None) for fv in result.values())
