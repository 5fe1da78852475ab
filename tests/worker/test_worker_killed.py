"""At-least-once delivery with idempotent writes: a worker killed with SIGKILL while it holds a
receipt loses nothing, and the receipt's result is stored exactly once."""

from __future__ import annotations

import time

import pytest
from helpers import sample_images, wait_for_batch
from sqlalchemy import func, select

from shared.db.models import Extraction, Receipt, ReceiptStatus
from shared.db.session import session_scope

pytestmark = pytest.mark.slow


def _status(receipt_id: int) -> ReceiptStatus:
    with session_scope() as session:
        return session.get(Receipt, receipt_id).status


def _wait_processing(receipt_id: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _status(receipt_id) != ReceiptStatus.PROCESSING:
        assert time.monotonic() < deadline, "the worker never picked the receipt up"
        time.sleep(0.02)


def _extraction_count(receipt_id: int) -> int:
    with session_scope() as session:
        return session.scalar(
            select(func.count()).select_from(Extraction).where(Extraction.receipt_id == receipt_id)
        )


@pytest.mark.parametrize("victim", ["whole worker", "pool child"])
def test_killed_worker_loses_no_receipt(client, start_worker, victim: str) -> None:
    first = start_worker()
    image = sample_images(1)[0]
    resp = client.post("/api/v1/batches", data={"files": [(image.open("rb"), image.name)]},
                       content_type="multipart/form-data")
    receipt_id = resp.get_json()["receipts"][0]["id"]

    _wait_processing(receipt_id)
    if victim == "whole worker":
        # Nothing survives to requeue the task: Redis hands it out again after the
        # visibility timeout (8 s in the tests).
        first.kill9()
        assert _extraction_count(receipt_id) == 0
        start_worker()
    else:
        # The parent sees its child die and rejects the task back onto the queue at once.
        first.kill_pool_child()

    batch = wait_for_batch(client, resp.get_json()["id"], timeout=120)
    assert batch["counts"]["done"] == 1
    assert _extraction_count(receipt_id) == 1
    with session_scope() as session:
        assert session.get(Receipt, receipt_id).attempts >= 2
