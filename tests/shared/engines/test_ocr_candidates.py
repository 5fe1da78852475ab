"""The learned ranker's candidates: what each field could be."""

from __future__ import annotations

from shared.documents.rows import union_box
from shared.engines.base import FieldValue
from shared.engines.ocr.candidates import Page, candidates
from shared.fields import SROIE_FIELDS
from tests.shared.engines.test_ocr_learned import line

ADDRESS = next(spec for spec in SROIE_FIELDS if spec.name == "address")


def test_an_address_candidate_neither_starts_nor_ends_with_a_header_ending_row() -> None:
    page = Page.of([
        line("KEDAI MAJU SDN BHD", 0),
        line("(P) INVOICE 8008", 1),
        line("54,JALAN SS23/11 TAMAN SEA,", 2),
        line("47400 PETALING JAYA,SELANGOR TEL: 03-7887 2622", 3),
        line("TABLE :8", 4),
    ])
    texts = {c.text for c in candidates(page, ADDRESS, FieldValue("", 0.0, None))}
    assert "54,JALAN SS23/11 TAMAN SEA, 47400 PETALING JAYA,SELANGOR" in texts  # phone cut
    assert not any(text.endswith("TABLE :8") or text.startswith("(P) INVOICE") for text in texts)
    # Inside a span, a stop row is the ranker's to weigh (its features flag it).
    assert "KEDAI MAJU SDN BHD (P) INVOICE 8008 54,JALAN SS23/11 TAMAN SEA," in texts


def test_the_row_after_a_value_is_the_next_printed_row() -> None:
    lines = [line("99 SPEED MART S/B", 0), line("LOT P.T. 2811, JALAN ANGSA,", 1),
             line("41150 KLANG, SELANGOR", 2), line("1237-TMN INDAH PERDANA", 3)]
    page = Page.of(lines)
    after = page.row_after(union_box([page.rows[1].box, page.rows[2].box]))  # the address's
    assert after is not None and after.text == "1237-TMN INDAH PERDANA"
    assert page.row_after(page.rows[3].box) is None  # the last row
    assert page.row_after(None) is None
