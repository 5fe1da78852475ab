"""Claiming a receipt: a job this process already has in hand is not run a second time.

Redis hands an unacknowledged task out again once the visibility timeout passes, even to the
worker still working on it (a long batch). The batch that holds the job writes it; the second
delivery must neither run the engine again nor stop the first one's lease from being renewed.
"""

from __future__ import annotations

import pytest

from shared import dispatch
from shared.config import get_settings
from shared.db.models import Batch, Receipt, ReceiptStatus, utcnow
from shared.db.session import session_scope
from worker import leases
from worker.extract import Outcome, finish_batch, infer_batch, prepare_batch


@pytest.fixture
def queued(services: dict[str, str]) -> tuple[int, str]:
    """A queued receipt with no stored file: claimed, it fails with a message at load time."""
    with session_scope() as session:
        batch = Batch(name="claims", engine="ocr",
                      fields=[f.model_dump() for f in get_settings().fields])
        receipt = Receipt(batch=batch, original_name="r.jpg", status=ReceiptStatus.QUEUED,
                          job_id=dispatch.new_job_id(), enqueued_at=utcnow())
        session.add_all([batch, receipt])
        session.flush()
        return receipt.id, receipt.job_id  # type: ignore[return-value]


def _attempts(receipt_id: int) -> int:
    with session_scope() as session:
        return session.get(Receipt, receipt_id).attempts  # type: ignore[union-attr]


def test_a_redelivery_of_a_job_in_hand_waits_for_the_batch_that_holds_it(
        queued: tuple[int, str]) -> None:
    receipt_id, job = queued
    first = prepare_batch([queued])
    assert first.outcomes == [None] and leases.keeper().holds(job)

    again = prepare_batch([queued])  # the broker's second delivery, while the first runs
    assert again.outcomes == [Outcome.IN_HAND]
    assert finish_batch(infer_batch(again)) == [Outcome.IN_HAND]
    assert _attempts(receipt_id) == 1
    assert leases.keeper().holds(job), "the second delivery released the first one's lease"

    assert finish_batch(infer_batch(first)) == [Outcome.FAILED]  # no stored file
    assert not leases.keeper().holds(job)
    with session_scope() as session:
        receipt = session.get(Receipt, receipt_id)
        assert receipt is not None and receipt.status == ReceiptStatus.FAILED
        assert "upload it again" in (receipt.error or "")


def test_a_job_twice_in_one_batch_runs_once(queued: tuple[int, str]) -> None:
    receipt_id, job = queued
    batch = prepare_batch([queued, queued])
    assert batch.outcomes == [None, Outcome.IN_HAND]
    assert finish_batch(infer_batch(batch)) == [Outcome.FAILED, Outcome.IN_HAND]
    assert _attempts(receipt_id) == 1
    assert not leases.keeper().holds(job)


def test_a_job_released_after_its_batch_can_be_claimed_again(queued: tuple[int, str]) -> None:
    """What stays: a redelivery after the holder let go (a retry) claims the receipt anew."""
    receipt_id, job = queued
    batch = prepare_batch([queued])
    leases.keeper().release([job])  # as the task does when its batch raised
    assert prepare_batch([queued]).outcomes == [None]
    assert _attempts(receipt_id) == 2
    leases.keeper().release([job])
    assert batch.outcomes == [None]
