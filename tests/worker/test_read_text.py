"""Values from an engine without boxes are still found on the image: a CPU worker reads the
receipt's text lines, and the review page locates each value among them."""

from __future__ import annotations

import time
import uuid

import pytest
from helpers import sample_images
from sqlalchemy import select

from shared.broker import celery_app
from shared.db.models import Batch, Extraction, Receipt, ReceiptPage, ReceiptStatus
from shared.db.session import session_scope
from shared.fields import SROIE_FIELDS
from shared.queues import TASK_READ_TEXT, queue_for_engine
from shared.storage import get_storage

pytestmark = pytest.mark.slow


def _boxless_receipt() -> int:
    key = get_storage().put(sample_images(1)[0].read_bytes())  # sroie-000
    values = {"company": "BOOK TA .K (TAMAN DAYA) SDN BHD", "date": "25/12/2018",
              "address": "", "total": "9.00"}
    with session_scope() as session:
        batch = Batch(name="boxless", engine="internvl",
                      fields=[f.model_dump() for f in SROIE_FIELDS])
        receipt = Receipt(batch=batch, original_name="sroie-000.jpg", storage_key=key,
                          media_type="image/jpeg", width=463, height=1013,
                          status=ReceiptStatus.DONE, job_id=str(uuid.uuid4()))
        receipt.pages = [ReceiptPage(number=1, storage_key=key, media_type="image/jpeg",
                                     width=463, height=1013, source="image")]
        receipt.extractions = [Extraction(
            job_id=receipt.job_id, engine="internvl", model_name="test",
            fields={k: {"value": v, "confidence": 0.8, "box": None} for k, v in values.items()},
        )]
        session.add(receipt)
        session.flush()
        return receipt.id


def test_text_lines_let_review_locate_values(client, start_worker) -> None:
    start_worker()
    receipt_id = _boxless_receipt()
    page = client.get(f"/receipts/{receipt_id}").data.decode()
    assert "no text lines to locate it" in page

    for _ in range(2):  # a second delivery changes nothing
        celery_app().send_task(TASK_READ_TEXT, kwargs={"receipt_id": receipt_id},
                               queue=queue_for_engine("ocr"))
    deadline = time.monotonic() + 90
    while True:
        with session_scope() as session:
            page = session.scalar(select(ReceiptPage).where(ReceiptPage.receipt_id == receipt_id))
            if page.lines is not None:
                assert any("TAMAN DAYA" in ln["text"] for ln in page.lines)
                assert page.lines_source.startswith("rapidocr-")
                break
        assert time.monotonic() < deadline, "no worker read the receipt's text"
        time.sleep(0.5)

    page = client.get(f"/receipts/{receipt_id}").data.decode()
    assert "no text lines to locate it" not in page
    company = page[page.index('id="f-company"'):].split(">", 1)[0]
    assert "data-box=" in company
    assert "not found on the receipt" not in page
