"""Celery task bodies, registered on the shared app under the names in shared.queues."""

from __future__ import annotations

import logging
import time

from celery import Task
from celery.signals import worker_process_init, worker_ready, worker_shutdown

from shared.broker import celery_app
from shared.config import get_settings
from shared.db.session import dispose_engines
from shared.queues import TASK_EXTRACT, TASK_READ_TEXT
from worker import broker_fixes, leases, reconciler
from worker import webhooks as _webhooks  # noqa: F401  (registers the delivery task)
from worker.extract import Outcome, fail, process_receipt
from worker.read_text import read_text
from worker.retrying import backoff as _backoff
from worker.retrying import transient as _transient

log = logging.getLogger(__name__)
app = celery_app()
broker_fixes.apply()

@worker_process_init.connect
def _after_fork(**_: object) -> None:
    dispose_engines()


@worker_ready.connect
def _start_reconciler(sender: object = None, **_: object) -> None:
    """Every worker runs the reconciler's timer; one of them acts at a time."""
    reconciler.start(name=getattr(sender, "hostname", "worker"))


@worker_shutdown.connect
def _stop_reconciler(**_: object) -> None:
    reconciler.stop()


def _process(receipt_id: int, job_id: str) -> Outcome:
    if get_settings().worker_batch_size > 1:
        from worker.batching import receipt_batcher

        # Wait here while the receipt rides in a batch with other tasks' receipts; returns
        # once its result is written, so acks_late acks only then.
        return receipt_batcher()((receipt_id, job_id))
    return process_receipt(receipt_id, job_id)


# No max_retries: the task is never dropped while its receipt is not final. It gives up only by
# writing the failure on the receipt, which needs the database; until then it keeps trying.
@app.task(name=TASK_EXTRACT, bind=True, acks_late=True, reject_on_worker_lost=True,
          max_retries=None)
def extract_receipt(self: Task, receipt_id: int, job_id: str, since: float | None = None,
                    engine_errors: int = 0) -> str:
    settings = get_settings()
    since = since or time.time()

    def again(exc: BaseException, engine_errors: int = engine_errors) -> Exception:
        return self.retry(exc=exc, countdown=_backoff(self.request.retries), kwargs={
            "receipt_id": receipt_id, "job_id": job_id, "since": since,
            "engine_errors": engine_errors})

    outcome: Outcome | None = None
    try:
        try:
            outcome = _process(receipt_id, job_id)
            return outcome.value
        except Exception as exc:
            if _transient(exc):
                waited = time.time() - since
                if waited < settings.task_retry_deadline_s:
                    log.warning("receipt %s: transient error, retrying: %s", receipt_id, exc)
                    raise again(exc) from exc
                message = (f"could not be processed for {waited / 3600:.1f} h: the database or "
                           f"broker kept failing ({type(exc).__name__}); upload it again")
            elif engine_errors < settings.task_max_retries:
                # An engine bug or an input the engine chokes on: a few more tries.
                log.exception("receipt %s: engine error, retrying", receipt_id)
                raise again(exc, engine_errors + 1) from exc
            else:
                log.exception("receipt %s: giving up", receipt_id)
                message = f"extraction failed: {type(exc).__name__}: {exc}"
            try:
                return fail(receipt_id, job_id, message).value
            except Exception as write_exc:
                if not _transient(write_exc):
                    raise
                raise again(write_exc) from write_exc
    finally:
        if outcome is not Outcome.IN_HAND:  # then the batch that has it releases it
            leases.keeper().release([job_id])


@app.task(name=TASK_READ_TEXT, bind=True, acks_late=True, reject_on_worker_lost=True,
          max_retries=get_settings().task_max_retries)
def read_receipt_text(self: Task, receipt_id: int) -> str:
    try:
        return read_text(receipt_id)
    except Exception as exc:
        if not _transient(exc):
            raise
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
