"""Review queue order, value location, corrections with history, exports of reviewed data."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile

import pytest
from helpers import sample_images

from shared.db.models import Batch, Extraction, Receipt, ReceiptStatus
from shared.db.session import session_scope
from shared.fields import SROIE_FIELDS
from shared.review import locate
from shared.storage import get_storage


def _receipts(confidences: list[float]) -> list[int]:
    """A batch of done receipts whose extraction has these (minimum) confidences."""
    image = sample_images(1)[0].read_bytes()
    key = get_storage().put(image)
    lines = [{"text": "BOOK TA .K (TAMAN DAYA) SDN BHD", "box": [68, 91, 423, 115]},
             {"text": "TOTAL: 9.00", "box": [241, 636, 450, 660]}]
    with session_scope() as session:
        batch = Batch(name="review", engine="ocr", fields=[f.model_dump() for f in SROIE_FIELDS])
        session.add(batch)
        ids = []
        for conf in confidences:
            receipt = Receipt(batch=batch, original_name=f"r{conf}.jpg", storage_key=key,
                              content_hash=key, media_type="image/jpeg", width=463,
                              height=1013, status=ReceiptStatus.DONE, job_id=str(uuid.uuid4()))
            fields = {
                "company": {"value": "BOOK TA .K (TAMAN DAYA) SDN BHD", "confidence": 0.9,
                            "box": [68, 91, 423, 115]},
                "date": {"value": "25/12/2018", "confidence": conf, "box": None},
                "address": {"value": "NOWHERE ROAD", "confidence": 0.95, "box": None},
                "total": {"value": "9.00", "confidence": 0.99, "box": None},
            }
            receipt.extractions = [Extraction(job_id=receipt.job_id, engine="ocr",
                                              model_name="test", fields=fields,
                                              raw_output=json.dumps(lines))]
            session.add(receipt)
            session.flush()
            ids.append(receipt.id)
        return ids


def test_queue_is_least_confident_first_and_skips_reviewed(client) -> None:
    ids = _receipts([0.5, 0.1, 0.3])
    page = client.get(f"/review?batch={_batch_of(ids[0])}").data.decode()
    order = [page.index(f"r{c}.jpg") for c in (0.1, 0.3, 0.5)]
    assert order == sorted(order)
    # Saving (here: accepting unchanged values) removes it from the queue and opens the next.
    resp = client.post(f"/receipts/{ids[1]}?batch={_batch_of(ids[0])}",
                       data={"company": "X", "date": "25/12/2018", "address": "A",
                             "total": "9.00", "then": "next"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith(f"/receipts/{ids[2]}")
    page = client.get(f"/review?batch={_batch_of(ids[0])}").data.decode()
    assert "r0.1.jpg" not in page


def _batch_of(receipt_id: int) -> int:
    with session_scope() as session:
        return session.get(Receipt, receipt_id).batch_id


def test_receipt_page_shows_boxes_confidence_warnings_and_history(client) -> None:
    (rid,) = _receipts([0.42])
    page = client.get(f"/receipts/{rid}").data.decode()
    assert 'data-box="68,91,423,115"' in page  # the engine's own box
    assert 'data-box="241' in page  # total located among the OCR lines
    assert "0.42" in page
    assert "not found on the receipt" in page  # "NOWHERE ROAD" is printed nowhere
    client.post(f"/receipts/{rid}", data={"total": "9.10", "then": "stay"})
    page = client.get(f"/receipts/{rid}").data.decode()
    assert 'id="history"' in page and "total: 9.10" in page


def test_locate_finds_wrapped_values_and_rejects_absent_ones() -> None:
    lines = [{"text": "NO.53 55,57 & 59, JALAN SAGU 18,", "box": [10, 10, 300, 30]},
             {"text": "TAMAN DAYA,", "box": [12, 32, 120, 50]},
             {"text": "TOTAL 9.00", "box": [10, 400, 200, 420]}]
    where = locate("NO.53 55,57 & 59, JALAN SAGU 18, TAMAN DAYA,", lines)
    assert where.found and where.box == [10, 10, 300, 50]
    assert not locate("IKEA CHESHIRE OAKS", lines).found
    assert locate("9.00", lines).found


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_reviewed_exports(client, fmt: str) -> None:
    (rid,) = _receipts([0.2])
    client.post(f"/api/v1/receipts/{rid}/corrections", json={"fields": {"total": "19.00"}})
    body = client.get(f"/api/v1/exports/reviewed?format={fmt}").data.decode()
    rows = (list(csv.DictReader(io.StringIO(body))) if fmt == "csv"
            else [json.loads(line) for line in body.splitlines()])
    row = next(r for r in rows if int(r["receipt_id"]) == rid)
    assert row["total"] == "19.00" and row["date"] == "25/12/2018"


def test_dataset_export_is_the_trainer_folder_format(client, tmp_path) -> None:
    from shared.evaluation import load_labelled_folder

    (rid,) = _receipts([0.2])
    client.post(f"/api/v1/receipts/{rid}/corrections", json={"fields": {"total": "7.00"}})
    data = client.get("/api/v1/exports/dataset").data
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    examples = {e.name: e for e in load_labelled_folder(tmp_path)}
    assert examples[f"receipt-{rid}"].label["total"] == "7.00"


def test_unknown_ids_on_pages_say_what_is_missing(client) -> None:
    for path, text in (("/receipts/999999", "receipt 999999 does not exist"),
                       ("/training/999999", "training run 999999 does not exist")):
        resp = client.get(path)
        assert resp.status_code == 404 and text in resp.data.decode()
