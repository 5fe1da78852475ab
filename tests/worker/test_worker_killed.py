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
    # A long lease, so the reconciler stays out of it: this is Redis' redelivery alone.
    long_lease = {"RECEIPTFLOW_LEASE_S": "600"}
    first = start_worker(env=long_lease)
    image = sample_images(1)[0]
    resp = client.post("/api/v1/batches", data={"files": [(image.open("rb"), image.name)]},
                       content_type="multipart/form-data")
    receipt_id = resp.get_json()["receipts"][0]["id"]

    _wait_processing(receipt_id)
    with session_scope() as session:
        job = session.get(Receipt, receipt_id).job_id
    killed = time.monotonic()
    if victim == "whole worker":
        # Nothing survives to requeue the task: Redis hands it out again after the
        # visibility timeout (8 s in the tests), checked on every tick of kombu's timer.
        first.kill9()
        assert _extraction_count(receipt_id) == 0
        start_worker(env=long_lease)
    else:
        # The parent sees its child die and rejects the task back onto the queue at once.
        first.kill_pool_child()

    batch = wait_for_batch(client, resp.get_json()["id"], timeout=120)
    # kombu used to look for lost messages every 100 s whatever the timeout.
    assert time.monotonic() - killed < 45
    assert batch["counts"]["done"] == 1
    assert _extraction_count(receipt_id) == 1
    with session_scope() as session:
        receipt = session.get(Receipt, receipt_id)
        assert receipt.attempts >= 2
        assert receipt.job_id == job  # redelivered, not sent again
