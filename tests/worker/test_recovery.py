"""Stranded receipts come back: the reconciler (shared/recovery.py) against the real database and
Redis, and real workers that find receipts the broker forgot or a dead worker held."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from helpers import empty_broker, sample_images, wait_for_batch
from sqlalchemy import func, select, update

from shared import dispatch
from shared.broker import held_jobs
from shared.config import get_settings
from shared.db.models import Batch, Extraction, Receipt, ReceiptStatus, utcnow
from shared.db.session import session_scope
from shared.queues import queue_for_engine
from shared.recovery import reconcile

# Short timings for the workers started here (the suite's own defaults are the product's).
FAST = {"RECEIPTFLOW_LEASE_S": "3", "RECEIPTFLOW_RECONCILE_INTERVAL_S": "1"}


def _receipt(status: ReceiptStatus, *, sent: bool = True, attempts: int = 0,
             lease: timedelta = timedelta(seconds=-1)) -> int:
    """A receipt row in ``status`` whose lease ran out ``-lease`` ago (not sent to any queue)."""
    with session_scope() as session:
        batch = Batch(name="recovery", engine="ocr",
                      fields=[f.model_dump() for f in get_settings().fields])
        receipt = Receipt(batch=batch, original_name="r.jpg", status=status,
                          job_id=dispatch.new_job_id(), attempts=attempts,
                          enqueued_at=utcnow() if sent else None,
                          lease_expires_at=utcnow() + lease)
        session.add_all([batch, receipt])
        session.flush()
        return receipt.id


def _row(receipt_id: int) -> Receipt:
    with session_scope() as session:
        return session.get(Receipt, receipt_id)  # type: ignore[return-value]


@pytest.fixture
def quiet_broker(services: dict[str, str]):  # type: ignore[no-untyped-def]
    """Nothing consumes the queues here; what the test sends is dropped after it."""
    empty_broker(services)
    yield
    empty_broker(services)


def _reconcile() -> None:
    with session_scope() as session:
        reconcile(session)


def test_a_queued_receipt_the_broker_lost_is_sent_again(quiet_broker: None) -> None:
    rid = _receipt(ReceiptStatus.QUEUED)
    old_job = _row(rid).job_id
    _reconcile()
    row = _row(rid)
    assert row.status == ReceiptStatus.QUEUED and row.job_id != old_job
    assert row.lease_expires_at > utcnow()
    assert row.job_id in held_jobs([queue_for_engine("ocr")])  # the new job is on the queue


def test_a_queued_receipt_the_broker_still_holds_only_gets_a_new_lease(
        quiet_broker: None) -> None:
    rid = _receipt(ReceiptStatus.QUEUED, sent=False)
    with session_scope() as session:
        dispatch.send(session, [session.get(Receipt, rid)])  # really on the queue
        session.execute(update(Receipt).where(Receipt.id == rid)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    job = _row(rid).job_id
    _reconcile()
    assert _row(rid).job_id == job
    assert _row(rid).lease_expires_at > utcnow()


def test_a_processing_receipt_past_its_lease_is_sent_again(quiet_broker: None) -> None:
    rid = _receipt(ReceiptStatus.PROCESSING, attempts=1)
    old_job = _row(rid).job_id
    _reconcile()
    assert _row(rid).status == ReceiptStatus.QUEUED and _row(rid).job_id != old_job


def test_a_receipt_within_its_lease_is_left_alone(quiet_broker: None) -> None:
    rid = _receipt(ReceiptStatus.PROCESSING, attempts=1, lease=timedelta(minutes=1))
    job = _row(rid).job_id
    _reconcile()
    assert (_row(rid).status, _row(rid).job_id) == (ReceiptStatus.PROCESSING, job)


def test_a_receipt_its_workers_keep_dying_on_is_failed(quiet_broker: None) -> None:
    rid = _receipt(ReceiptStatus.PROCESSING, attempts=get_settings().max_attempts)
    _reconcile()
    row = _row(rid)
    assert row.status == ReceiptStatus.FAILED
    assert row.error.startswith("processing started 10 times and never finished")


def test_finished_receipts_are_never_touched(quiet_broker: None) -> None:
    rids = [_receipt(s) for s in (ReceiptStatus.DONE, ReceiptStatus.FAILED)]
    jobs = [_row(r).job_id for r in rids]
    _reconcile()
    assert [_row(r).job_id for r in rids] == jobs


def test_requeue_older_than_forces_a_resend(quiet_broker: None) -> None:
    rid = _receipt(ReceiptStatus.PROCESSING, attempts=1, lease=timedelta(minutes=10))
    with session_scope() as session:
        session.execute(update(Receipt).where(Receipt.id == rid)
                        .values(updated_at=utcnow() - timedelta(minutes=5)))
    job = _row(rid).job_id
    with session_scope() as session:
        reconcile(session, older_than=timedelta(minutes=2))
    assert _row(rid).job_id != job


# --- with real workers --------------------------------------------------------------------------

def _extractions(receipt_ids: list[int]) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Extraction)
                              .where(Extraction.receipt_id.in_(receipt_ids))) or 0


@pytest.mark.slow
def test_receipts_the_broker_forgot_are_done_once(client, start_worker, services) -> None:  # type: ignore[no-untyped-def]
    """Redis restarted without its data: the queued messages are gone. A worker started later
    finds the receipts by their leases and does each once."""
    images = sample_images(2)
    resp = client.post("/api/v1/batches", content_type="multipart/form-data",
                       data={"files": [(p.open("rb"), p.name) for p in images]})
    batch = resp.get_json()
    empty_broker(services)  # what a Redis restart without persistence does to the queue
    start_worker(env=FAST)
    done = wait_for_batch(client, batch["id"], timeout=120)
    assert done["counts"]["done"] == 2
    assert _extractions([r["id"] for r in batch["receipts"]]) == 2


@pytest.mark.slow
def test_a_dead_workers_receipt_comes_back_by_its_lease(client, start_worker) -> None:  # type: ignore[no-untyped-def]
    """With a visibility timeout of ten minutes, Redis would hand the task out again only then;
    the lease brings it back within seconds."""
    slow_redelivery = {**FAST, "RECEIPTFLOW_VISIBILITY_TIMEOUT_S": "600"}
    first = start_worker(env=slow_redelivery)
    image = sample_images(1)[0]
    batch = client.post("/api/v1/batches", content_type="multipart/form-data",
                        data={"files": [(image.open("rb"), image.name)]}).get_json()
    rid = batch["receipts"][0]["id"]
    deadline = time.monotonic() + 60
    while _row(rid).status != ReceiptStatus.PROCESSING:
        assert time.monotonic() < deadline, "the worker never took the receipt"
        time.sleep(0.02)
    first_job = _row(rid).job_id
    first.kill9()
    start_worker(env=slow_redelivery)
    done = wait_for_batch(client, batch["id"], timeout=90)
    assert done["counts"]["done"] == 1
    assert _row(rid).job_id != first_job  # sent again by the reconciler, not by Redis
    assert _extractions([rid]) == 1
