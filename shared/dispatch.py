"""Putting receipts on the queue, after their rows are committed.

Each enqueue gives the receipt a fresh job id; the task carries it (it is also the Celery task
id, so the reconciler can tell which receipts the broker still holds), and the worker writes at
most one extraction per job id. A send that fails after the commit leaves ``enqueued_at`` empty;
the reconciler (``shared/recovery.py``) sends it later, so no committed receipt is lost between
database and queue.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy.orm import Session

from shared.broker import celery_app
from shared.config import get_settings
from shared.db.models import Receipt, ReceiptStatus, utcnow
from shared.queues import TASK_EXTRACT, queue_for_engine

log = logging.getLogger(__name__)


def new_job_id() -> str:
    return str(uuid.uuid4())


def assign_jobs(session: Session, receipts: Iterable[Receipt]) -> list[Receipt]:
    """Mark new receipts queued with new job ids (the caller commits before sending)."""
    assigned = []
    for receipt in receipts:
        receipt.status = ReceiptStatus.QUEUED
        receipt.job_id = new_job_id()
        receipt.enqueued_at = None
        receipt.lease_expires_at = None
        receipt.error = None
        assigned.append(receipt)
    return assigned


def send(session: Session, receipts: Iterable[Receipt]) -> int:
    """Send committed, queued receipts to their engine's queue; returns how many were sent.

    A sent receipt's lease is the broker's: until it runs out the reconciler leaves it alone,
    and after it the reconciler asks the broker whether it still holds the job."""
    app = celery_app()
    lease = timedelta(seconds=get_settings().lease_s)
    sent = 0
    for receipt in receipts:
        try:
            app.send_task(
                TASK_EXTRACT,
                kwargs={"receipt_id": receipt.id, "job_id": receipt.job_id},
                queue=queue_for_engine(receipt.batch.engine),
                task_id=receipt.job_id,
            )
        except Exception:
            # Broker down: this row and the rest stay unsent and the reconciler sends them.
            # Not trying each of them spares the caller kombu's publish retries per receipt.
            log.warning("could not enqueue receipt %s; the reconciler will send it and the "
                        "rest of this upload", receipt.id, exc_info=True)
            break
        receipt.enqueued_at = utcnow()
        receipt.lease_expires_at = receipt.enqueued_at + lease
        sent += 1
    session.commit()
    return sent
