"""The word tagger (a value inside a longer line, or over several lines), its alignment of
labels to OCR words, the vendor memory, and versions saved before them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import joblib
import pytest

pytest.importorskip("pycrfsuite")

from shared.documents.lines import TextLine
from shared.engines.ocr.learned import META_FILE, MODEL_FILE, LearnedExtractor
from shared.engines.ocr.tagger import align, words_of
from shared.engines.ocr.vendors import VendorMemory
from shared.fields import SROIE_FIELDS, FieldSpec
from tests.shared.engines.test_ocr_learned import line, receipts

# A booking reference printed inside a longer line: no whole line or row is the value.
REFERENCE = FieldSpec(name="reference", description="the booking reference", kind="text")
FIELDS = (*SROIE_FIELDS, REFERENCE)


def with_reference(seed: int, n: int) -> list[tuple[list[TextLine], dict[str, str]]]:
    rng = random.Random(seed)
    out = []
    for lines, label in receipts(n, seed):
        ref = f"BK{rng.randint(1000, 9999)}{rng.choice('ABCDEFGH')}"
        row = max(ln.y1 for ln in lines) // 24 + 2
        text = f"Ref {ref} Table {rng.randint(1, 40)} Pax {rng.randint(1, 9)}"
        out.append(([*lines, line(text, int(row))], {**label, "reference": ref}))
    return out


def test_the_tagger_learns_a_value_inside_a_longer_line() -> None:
    model = LearnedExtractor.fit(with_reference(11, 45), FIELDS)
    assert model.meta["pickers"]["reference"]["picker"] == "tagger"
    for lines, label in with_reference(12, 10):
        got = model.extract(lines, FIELDS)
        assert got["reference"].value == label["reference"]
        assert got["reference"].box is not None and 0 < got["reference"].confidence <= 1
        assert got["total"].value == label["total"]  # the other fields as before


def test_labels_align_to_words_across_lines_and_without_spaces() -> None:
    lines = [TextLine("CHOEUN KOREAN", (10, 10, 130, 30)),
             TextLine("RESTAURANT", (10, 34, 110, 54)),
             TextLine("2621 Orangethorpe Ave,", (10, 58, 230, 78)),
             TextLine("Fullerton.", (10, 82, 110, 102)),
             TextLine("TOTAL $60.44", (10, 106, 130, 126))]
    words = words_of(lines)
    assert [w.text for w in words][:3] == ["CHOEUN", "KOREAN", "RESTAURANT"]
    assert align(words, "CHOEUNKOREANRESTAURANT", "company") == (0, 3)
    assert align(words, "2621ORANGETHORPEAVE,FULLERTON.", "address") == (3, 7)
    assert align(words, "60.44", "amount") == (8, 9)
    assert align(words, "SOMETHING ELSE ENTIRELY", "company") is None


def test_vendor_memory_recalls_a_seller_but_not_another_branch() -> None:
    kinds = {"company": "company", "address": "address"}
    memory = VendorMemory.build([
        {"company": "SYARIKAT PERNIAGAAN GIN KEE",
         "address": "NO 290, JALAN AIR PANAS, SETAPAK, 53200, KUALA LUMPUR."},
        {"company": "SYARIKAT PERNIAGAAN GIN KEE",
         "address": "NO 290, JALAN AIR PANAS, SETAPAK, 53200, KUALA LUMPUR."},
        {"company": "SYARIKAT PERNIAGAAN GIN KEE",
         "address": "NO 290, JALAN AIR PANAS. SETAPAK, 53200, KUALA LUMPUR"},
    ], kinds)
    # OCR's misreads and a missing full stop: the reviewers' form, most common first.
    assert memory.recall("company", "SYARIKAT PERNIAGAAN GIN KEF")[0] == \
        "SYARIKAT PERNIAGAAN GIN KEE"
    assert memory.recall("address", "NO 290. JALAN AIR PANAS. SETAPAK. 53200. KUALA LUMPUR")[0] \
        == "NO 290, JALAN AIR PANAS, SETAPAK, 53200, KUALA LUMPUR."
    assert memory.recall("address", "NO 12, JALAN SAGU 18, 81100 JOHOR BAHRU") is None
    assert memory.recall("date", "01/01/2018") is None


def test_a_known_seller_brings_its_own_addresses_back() -> None:
    kinds = {"company": "company", "address": "address"}
    memory = VendorMemory.build([
        {"company": "MR. D.I.Y. (M) SDN BHD", "address": "LOT 1851-A & 1851-B, JALAN KPB 6, "
                                                         "43300 SERI KEMBANGAN, SELANGOR"},
        {"company": "MR. D.I.Y. (M) SDN BHD", "address": "NO. 5, JALAN BESAR, 81100 JOHOR"},
        {"company": "KEDAI MAJU", "address": "NO 9, JALAN SAGU 18, 81100 JOHOR BAHRU"},
    ], kinds)
    seller = memory.seller("company", "MR. D.I.Y. (M) SDN BHO")  # a misread seller, still known
    assert seller is not None and memory.seller("company", "ANOTHER SHOP") is None
    # An address read badly (a line missed, lines in another order) is still that branch's.
    form, ratio = memory.seller_address(seller, "LOT 1851-A & 1851-B. JALAN KPB 6, SELANGOR")
    assert form.startswith("LOT 1851-A") and 60 <= ratio < 85
    assert memory.recall("address", "LOT 1851-A & 1851-B. JALAN KPB 6, SELANGOR") is None
    # Another seller's address is never brought back for this one.
    assert memory.seller_address(seller, "NO 9, JALAN SAGU 18, 81100 JOHOR BAHRU") is None


def test_a_version_saved_before_the_tagger_still_loads(tmp_path: Path) -> None:
    model = LearnedExtractor.fit(receipts(12, seed=21), SROIE_FIELDS)
    folder = tmp_path / "v1"
    folder.mkdir()
    joblib.dump(model._models, folder / MODEL_FILE)  # format 1: the rankers alone
    (folder / META_FILE).write_text(json.dumps({**model.meta, "format_version": 1}))
    loaded = LearnedExtractor.load(folder)
    lines, label = receipts(1, seed=22)[0]
    assert loaded.extract(lines, SROIE_FIELDS)["total"].value == label["total"]
