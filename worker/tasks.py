"""Celery task bodies, registered on the shared app under the names in shared.queues."""

from __future__ import annotations

import logging

from celery import Task
from celery.signals import worker_process_init, worker_ready
from sqlalchemy.exc import OperationalError

from shared.broker import celery_app
from shared.config import get_settings
from shared.db.session import dispose_engines, session_scope
from shared.dispatch import requeue_unsent
from shared.queues import TASK_EXTRACT, TASK_READ_TEXT
from worker.extract import Outcome, fail, process_receipt
from worker.read_text import read_text

log = logging.getLogger(__name__)
app = celery_app()

# Errors worth another try: the database or the broker blinked.
TRANSIENT = (OperationalError, ConnectionError, TimeoutError)


@worker_process_init.connect
def _after_fork(**_: object) -> None:
    dispose_engines()


def _backoff(task: Task) -> int:
    """Seconds before the next try: 1, 2, 4, ... up to a minute."""
    return min(2 ** task.request.retries, 60)


@worker_ready.connect
def _send_unsent(**_: object) -> None:
    """Receipts committed while the broker was unreachable are sent when a worker starts."""
    try:
        with session_scope() as session:
            sent = requeue_unsent(session)
    except Exception:
        log.exception("could not sweep unsent receipts")
        return
    if sent:
        log.warning("sent %d receipts that had never reached the queue", sent)


def _process(receipt_id: int, job_id: str) -> Outcome:
    if get_settings().worker_batch_size > 1:
        from worker.batching import receipt_batcher

        # Wait here while the receipt rides in a batch with other tasks' receipts; returns
        # once its result is written, so acks_late acks only then.
        return receipt_batcher()((receipt_id, job_id))
    return process_receipt(receipt_id, job_id)


@app.task(name=TASK_EXTRACT, bind=True, acks_late=True, reject_on_worker_lost=True,
          max_retries=get_settings().task_max_retries)
def extract_receipt(self: Task, receipt_id: int, job_id: str) -> str:
    try:
        return _process(receipt_id, job_id).value
    except TRANSIENT as exc:
        log.warning("receipt %s: transient error, retrying: %s", receipt_id, exc)
        raise self.retry(exc=exc, countdown=_backoff(self)) from exc
    except Exception as exc:
        # An engine bug or an input the engine chokes on: retry a few times, then record it on
        # the receipt instead of losing it silently.
        if self.request.retries < self.max_retries:
            log.exception("receipt %s: engine error, retrying", receipt_id)
            raise self.retry(exc=exc, countdown=_backoff(self)) from exc
        log.exception("receipt %s: giving up", receipt_id)
        return fail(receipt_id, job_id, f"extraction failed: {type(exc).__name__}: {exc}").value


@app.task(name=TASK_READ_TEXT, bind=True, acks_late=True, reject_on_worker_lost=True,
          max_retries=get_settings().task_max_retries)
def read_receipt_text(self: Task, receipt_id: int) -> str:
    try:
        return read_text(receipt_id)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=_backoff(self)) from exc
