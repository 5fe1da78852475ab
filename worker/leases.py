"""Renewing the leases of the receipts this process is working on.

A worker claims a receipt with a lease (``lease_expires_at``, ``RECEIPTFLOW_LEASE_S`` ahead); a
thread here pushes the lease forward while the receipt is held, so a long batch keeps its
receipts, and a worker that dies stops renewing: the reconciler then sends them again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import update

from shared.config import get_settings
from shared.db.models import Receipt, ReceiptStatus, utcnow
from shared.db.session import session_scope

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(self, lease_s: float) -> None:
        self.lease_s = lease_s
        self._held: set[str] = set()  # job ids
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, jobs: Iterable[str]) -> None:
        with self._lock:
            self._held.update(jobs)
            if self._thread is None:  # started on first use: after Celery's fork, in the child
                self._thread = threading.Thread(target=self._run, name="lease-keeper",
                                                daemon=True)
                self._thread.start()

    def holds(self, job: str) -> bool:
        """This process is working on the job now (a batch has it in hand)."""
        with self._lock:
            return job in self._held

    def release(self, jobs: Iterable[str]) -> None:
        with self._lock:
            self._held.difference_update(jobs)

    def renew(self) -> int:
        with self._lock:
            jobs = list(self._held)
        if not jobs:
            return 0
        with session_scope() as session:
            result = session.execute(
                update(Receipt)
                .where(Receipt.job_id.in_(jobs), Receipt.status == ReceiptStatus.PROCESSING)
                .values(lease_expires_at=utcnow() + timedelta(seconds=self.lease_s))
                .execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]

    def _run(self) -> None:
        while True:
            time.sleep(self.lease_s / 4)
            try:
                self.renew()
            except Exception as exc:  # the database blinked: the next round tries again
                log.warning("could not renew receipt leases: %s", exc)


_keeper: LeaseKeeper | None = None


def keeper() -> LeaseKeeper:
    global _keeper
    if _keeper is None:
        _keeper = LeaseKeeper(get_settings().lease_s)
    return _keeper
