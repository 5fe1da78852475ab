"""The learned OCR extractor on small hand-built receipts: it fits, learns, round-trips, fails
clearly on a bad folder."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

from shared.documents.lines import TextLine
from shared.engines.ocr import judge
from shared.engines.ocr.learned import META_FILE, MODEL_FILE, LearnedExtractor
from shared.fields import SROIE_FIELDS, FieldSpec

ROW_HEIGHT = 20.0
# A field no rule knows: it can only come from what the corrections show.
INVOICE = FieldSpec(name="invoice_no", description="the invoice number", kind="text")
FIELDS = (*SROIE_FIELDS, INVOICE)

Receipt = tuple[list[TextLine], dict[str, str]]


def line(text: str, row: int, x0: float = 50.0) -> TextLine:
    y0 = 10.0 + row * (ROW_HEIGHT + 4)
    return TextLine(text=text, box=(x0, y0, x0 + 9.0 * len(text), y0 + ROW_HEIGHT), score=0.98)


def receipt(rng: random.Random) -> Receipt:
    """A receipt with the usual header, a few items, a total block and an invoice number."""
    company = f"{rng.choice(['KEDAI', 'SYARIKAT', 'RESTORAN'])} {rng.choice(['ABC', 'MAJU'])}" \
        f" {rng.randint(1, 99)} SDN BHD"
    street = f"NO.{rng.randint(1, 200)}, JALAN {rng.choice(['SAGU', 'BUNGA', 'MAWAR'])} " \
        f"{rng.randint(1, 30)},"
    town = f"{rng.randint(10000, 99999)} {rng.choice(['JOHOR BAHRU', 'KUALA LUMPUR'])}"
    date = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2018"
    invoice = f"CS{rng.randint(10000, 99999)}"
    rows = [company, f"{rng.randint(100000, 999999)}-W", street, town]
    lines = [line(text, i) for i, text in enumerate(rows)]
    r = len(rows) + rng.randint(1, 2)
    lines.append(line("TEL: 07-3345678", r))
    r += 1
    # The invoice number's row moves around; a document number is a distractor of the same shape.
    order = [("Invoice No:", invoice), ("Doc No:", f"DN{rng.randint(10000, 99999)}")]
    rng.shuffle(order)
    for key, value in order:
        lines += [line(key, r), line(value, r, x0=200)]
        r += 1
    lines += [line("Date:", r), line(f"{date} 8:13:39 PM", r, x0=160)]
    r += 2
    amounts = [rng.randint(100, 5000) / 100 for _ in range(rng.randint(1, 4))]
    for k, amount in enumerate(amounts):
        lines += [line(f"ITEM {k}", r), line(f"{amount:.2f}", r, x0=400)]
        r += 1
    total = sum(amounts)
    lines += [line("Total :", r, x0=240), line(f"{total:.2f}", r, x0=400)]
    cash = total + rng.randint(1, 50)
    lines += [line("Cash", r + 1, x0=200), line(f"{cash:.2f}", r + 1, x0=400)]
    lines += [line("CHANGE", r + 2, x0=200), line(f"{cash - total:.2f}", r + 2, x0=400)]
    label = {"company": company, "date": date, "address": f"{street} {town}",
             "total": f"{total:.2f}", "invoice_no": invoice}
    return lines, label


def receipts(n: int, seed: int) -> list[Receipt]:
    rng = random.Random(seed)
    return [receipt(rng) for _ in range(n)]


@pytest.fixture(scope="module")
def model() -> LearnedExtractor:
    return LearnedExtractor.fit(receipts(40, seed=1), FIELDS)


def test_learns_sroie_fields_and_a_field_without_rules(model: LearnedExtractor) -> None:
    held_out = receipts(10, seed=2)
    for lines, label in held_out:
        got = {name: fv.value for name, fv in model.extract(lines, FIELDS).items()}
        assert got == label
    fv = model.extract(held_out[0][0], FIELDS)["total"]
    assert 0.0 <= fv.confidence <= 1.0 and fv.box is not None


def test_save_load_round_trip(model: LearnedExtractor, tmp_path: Path) -> None:
    model.save(tmp_path / "v1")
    meta = json.loads((tmp_path / "v1" / META_FILE).read_text())
    assert meta["training_size"] == 40
    assert [f["name"] for f in meta["fields"]] == [f.name for f in FIELDS]
    loaded = LearnedExtractor.load(tmp_path / "v1")
    for lines, _ in receipts(5, seed=3):
        assert loaded.extract(lines, FIELDS) == model.extract(lines, FIELDS)


def test_unknown_field_at_extract_time_gets_the_rules(model: LearnedExtractor) -> None:
    other = FieldSpec(name="vendor", description="x", kind="company")
    lines, label = receipts(1, seed=4)[0]
    assert model.extract(lines, [other])["vendor"].value == label["company"]


def test_learns_a_labelling_convention() -> None:
    """Reviewers who write totals as "RM 12.30": the learned extractor follows them."""
    train = [(lines, {**label, "total": f"RM {label['total']}"})
             for lines, label in receipts(30, seed=5)]
    model = LearnedExtractor.fit(train, SROIE_FIELDS)
    lines, label = receipts(1, seed=6)[0]
    assert model.extract(lines, SROIE_FIELDS)["total"].value == f"RM {label['total']}"


def test_load_of_a_bad_folder_raises_value_error(model: LearnedExtractor, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LearnedExtractor.load(tmp_path / "missing")
    folder = tmp_path / "v1"
    model.save(folder)
    (folder / MODEL_FILE).write_bytes(b"not a pickle")
    with pytest.raises(ValueError):
        LearnedExtractor.load(folder)
    (folder / META_FILE).write_text("{broken")
    with pytest.raises(ValueError):
        LearnedExtractor.load(folder)
    (folder / META_FILE).write_text(json.dumps({"format_version": 999}))
    with pytest.raises(ValueError):
        LearnedExtractor.load(folder)


def misread(receipts_: list[Receipt], rng: random.Random, share: float) -> list[bool]:
    """Make OCR misread the total on ``share`` of the receipts (a digit changed, read with a
    low recognizer score) while the label keeps the printed total; returns which."""
    out = []
    for lines, label in receipts_:
        bad = rng.random() < share
        if bad:
            i = next(k for k, ln in enumerate(lines) if ln.text == label["total"])
            wrong = label["total"].replace(label["total"][0], str((int(label["total"][0]) + 3)
                                                                  % 10), 1)
            lines[i] = TextLine(wrong, lines[i].box, 0.55)
        out.append(bad)
    return out


def test_judges_make_confidence_tell_right_from_wrong(tmp_path: Path) -> None:
    rng = random.Random(5)
    train = receipts(60, seed=6)
    misread(train, rng, 0.3)
    model = LearnedExtractor.fit(train, FIELDS)
    assert "total" in model.meta["judges"]
    held = receipts(30, seed=7)
    misread(held, rng, 0.3)
    got = [(model.extract(lines, FIELDS)["total"], label["total"]) for lines, label in held]
    right_conf = [fv.confidence for fv, want in got if fv.value == want]
    wrong_conf = [fv.confidence for fv, want in got if fv.value != want]
    assert wrong_conf and right_conf  # the rules read some misread totals back (cash - change)
    assert max(wrong_conf) < min(right_conf), (wrong_conf, right_conf)
    model.save(tmp_path / "judged")
    loaded = LearnedExtractor.load(tmp_path / "judged")
    assert loaded.extract(held[0][0], FIELDS) == model.extract(held[0][0], FIELDS)


def test_a_judge_trained_before_a_signal_was_added_still_judges() -> None:
    """A version saved before a judge signal existed reads the signals it was trained on: the
    new ones are appended to ``judge.FEATURES``."""
    rng = random.Random(3)
    rows = [[rng.random() for _ in range(len(judge.FEATURES) - 1)] for _ in range(60)]
    right = [row[0] > 0.5 for row in rows]
    old = judge.fit(rows, right)
    assert old is not None and old.model is not None
    row = [*rows[0], 1.0]
    assert old.probability(row) == old.probability(rows[0])
