"""The training task, consumed from the `training` queue by `receiptflow trainer`."""

from __future__ import annotations

import logging

from celery import Task
from celery.signals import worker_ready
from sqlalchemy import select

from shared.broker import celery_app
from shared.db.models import RunStatus, TrainingRun, utcnow
from shared.db.session import session_scope
from shared.queues import TASK_TRAIN
from trainer.run import RunAlreadyStarted, execute

app = celery_app()
log = logging.getLogger(__name__)


@worker_ready.connect
def _fail_orphaned_runs(**_: object) -> None:
    """A run left `running` by a trainer that died cannot finish: say so on the run page."""
    with session_scope() as session:
        for run in session.scalars(select(TrainingRun).where(
                TrainingRun.status == RunStatus.RUNNING)):
            run.status, run.finished_at = RunStatus.FAILED, utcnow()
            run.error = "the trainer stopped while this run was training; start it again"
            log.warning("training run %s was orphaned by a stopped trainer", run.id)


# Acked on receipt, unlike extraction: a run takes minutes to hours of GPU time, so a trainer
# that dies marks it failed (above) instead of having the broker silently start it over. The
# broker can still give the message back (kombu's Redis transport leaves an early-acked message
# of the solo pool in its unacked hash while the task runs, and another worker restores it
# past the visibility timeout): execute() claims the run conditionally, so that delivery finds
# it started and does nothing.
@app.task(name=TASK_TRAIN, bind=True, acks_late=False)
def train(self: Task, run_id: int) -> int | None:
    try:
        return execute(run_id)
    except RunAlreadyStarted as exc:
        log.info("%s", exc)
        return None
