"""The learned ranker's candidates: what each field could be."""

from __future__ import annotations

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
