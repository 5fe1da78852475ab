"""Finding receipts that nobody is going to finish, and sending them again.

An unfinished receipt always has a holder: the broker while it is ``queued`` (its job's message
waits in a queue, or sits unacknowledged with a worker), a worker while it is ``processing``
(a lease in the row, renewed while the worker works: ``worker/leases.py``). Faults break that:
Redis restarted without its data forgets queued messages, a worker killed mid-batch stops
renewing, an upload commits while the broker is down. :func:`reconcile` finds such receipts and
sends them again under a fresh job id, so a late first delivery writes nothing: every write is
guarded by the receipt's current job id. Each change here is a conditional UPDATE on the job id
and the lease, so a worker finishing the receipt at the same moment always wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from shared import dispatch
from shared.broker import held_jobs
from shared.config import get_settings
from shared.db.models import Batch, Receipt, ReceiptStatus, utcnow
from shared.finishing import receipts_finished
from shared.queues import queue_for_engine

log = logging.getLogger(__name__)

UNFINISHED = (ReceiptStatus.QUEUED, ReceiptStatus.PROCESSING)
# A receipt the web has just committed is being sent right now: leave it that long.
UNSENT_GRACE = timedelta(seconds=10)


@dataclass
class Report:
    sent: int = 0  # committed but never sent, now sent
    renewed: int = 0  # past their lease, but the broker still holds the job
    resent: int = 0  # lost by the broker or their worker: sent again under a new job id
    failed: int = 0  # interrupted max_attempts times: marked failed

    def __bool__(self) -> bool:
        return any((self.sent, self.resent, self.failed))

    def __str__(self) -> str:
        return (f"{self.sent} never-sent receipts sent, {self.resent} stranded receipts sent "
                f"again, {self.failed} marked failed, {self.renewed} still held by the broker")


def reconcile(session: Session, *, older_than: timedelta | None = None) -> Report:
    """One pass. ``older_than`` is the operator's override (`receiptflow requeue --older-than`):
    every unfinished receipt untouched that long is sent again, whatever its lease says."""
    settings = get_settings()
    now = utcnow()
    report = Report()

    unsent = session.scalars(select(Receipt).where(
        Receipt.status == ReceiptStatus.QUEUED, Receipt.enqueued_at.is_(None),
        Receipt.job_id.is_not(None), Receipt.updated_at < now - (older_than or UNSENT_GRACE),
    )).all()
    if unsent:
        # The same job id: if the first send did arrive after all, the job still writes once.
        report.sent = dispatch.send(session, unsent)

    stale = _past_lease(now) if older_than is None else (Receipt.updated_at < now - older_than)
    candidates = session.execute(
        select(Receipt.id, Receipt.job_id, Receipt.status, Receipt.attempts, Batch.engine)
        .join(Batch).where(Receipt.status.in_(UNFINISHED), Receipt.enqueued_at.is_not(None),
                           stale)
    ).all()
    if not candidates:
        return report

    held: set[str] = set()
    if older_than is None and any(c.status == ReceiptStatus.QUEUED for c in candidates):
        try:
            held = held_jobs({queue_for_engine(c.engine) for c in candidates})
        except Exception as exc:
            # Without the broker nothing can be sent, and a queued receipt may be fine.
            log.warning("reconciler: the broker cannot be read (%s); trying again later", exc)
            return report

    lease = timedelta(seconds=settings.lease_s)
    new_jobs: list[str] = []
    failed: list[int] = []
    for c in candidates:
        guard = (Receipt.id == c.id, Receipt.job_id == c.job_id, Receipt.status == c.status)
        if older_than is None:
            guard = (*guard, _past_lease(now))
        if c.status == ReceiptStatus.QUEUED and c.job_id in held:
            report.renewed += _update(session, guard, lease_expires_at=now + lease)
        elif c.attempts >= settings.max_attempts:
            if _update(session, guard, status=ReceiptStatus.FAILED, finished_at=now,
                       lease_expires_at=None, error=interrupted(c.attempts)):
                failed.append(c.id)
        else:
            job = dispatch.new_job_id()
            if _update(session, guard, job_id=job, status=ReceiptStatus.QUEUED,
                       enqueued_at=None, lease_expires_at=None, error=None):
                new_jobs.append(job)
    report.failed = len(failed)
    receipts_finished(session, failed)
    session.commit()
    if new_jobs:
        receipts = session.scalars(select(Receipt).where(Receipt.job_id.in_(new_jobs))).all()
        report.resent = dispatch.send(session, receipts)
        # One not sent now (the broker went away) is unsent, and the next pass sends it.
    if report:
        log.warning("reconciler: %s", report)
    return report


def interrupted(attempts: int) -> str:
    """The message of a receipt given up on after ``attempts`` unfinished tries."""
    return (f"processing started {attempts} times and never finished (the worker stopped or "
            "failed each time, e.g. out of memory on this file): check the file, then upload "
            "it again")


def _past_lease(now: datetime) -> ColumnElement[bool]:
    return or_(Receipt.lease_expires_at.is_(None), Receipt.lease_expires_at < now)


def _update(session: Session, guard: tuple[ColumnElement[bool], ...], **values: object) -> int:
    result = session.execute(update(Receipt).where(*guard).values(updated_at=utcnow(), **values)
                             .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
