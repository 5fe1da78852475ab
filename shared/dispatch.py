"""Putting receipts on the queue, after their rows are committed.

Each enqueue gives the receipt a fresh job id; the task carries it, and the worker writes at most
one extraction per job id. A send that fails after the commit leaves ``enqueued_at`` empty, and
:func:`requeue_unsent` sends it later, so no committed receipt is lost between database and queue.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.broker import celery_app
from shared.db.models import Receipt, ReceiptStatus, utcnow
from shared.queues import TASK_EXTRACT, queue_for_engine

log = logging.getLogger(__name__)


def assign_jobs(session: Session, receipts: Iterable[Receipt]) -> list[Receipt]:
    """Mark receipts queued with new job ids (the caller commits before sending)."""
    assigned = []
    for receipt in receipts:
        receipt.status = ReceiptStatus.QUEUED
        receipt.job_id = str(uuid.uuid4())
        receipt.enqueued_at = None
        receipt.error = None
        assigned.append(receipt)
    return assigned


def send(session: Session, receipts: Iterable[Receipt]) -> int:
    """Send committed, queued receipts to their engine's queue; returns how many were sent."""
    app = celery_app()
    sent = 0
    for receipt in receipts:
        engine = receipt.batch.engine
        try:
            app.send_task(
                TASK_EXTRACT,
                kwargs={"receipt_id": receipt.id, "job_id": receipt.job_id},
                queue=queue_for_engine(engine),
            )
        except Exception:  # broker down: the row stays unsent and is swept up later
            log.exception("could not enqueue receipt %s; it will be retried", receipt.id)
            continue
        receipt.enqueued_at = utcnow()
        sent += 1
    session.commit()
    return sent


def requeue_unsent(session: Session, older_than: timedelta = timedelta(seconds=30)) -> int:
    """Send queued receipts that never reached the broker (e.g. Redis was down at upload)."""
    cutoff = utcnow() - older_than
    rows = session.scalars(
        select(Receipt).where(
            Receipt.status == ReceiptStatus.QUEUED,
            Receipt.enqueued_at.is_(None),
            Receipt.job_id.is_not(None),
            Receipt.updated_at < cutoff,
        )
    ).all()
    return send(session, rows) if rows else 0
