"""Starting a training run, the same from the API, the pages and the CLI: a row, then a task
sent by name to the `training` queue (the web process never imports the trainer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from shared.broker import celery_app
from shared.db.models import TrainingRun
from shared.queues import TASK_TRAIN, TRAINING_QUEUE


def create_run(session: Session, engine: str, params: dict[str, Any], requested_by: str,
               receipt_ids: Sequence[int] | None = None) -> TrainingRun:
    """A queued run on the reviewed receipts (all, or ``receipt_ids``); the caller commits."""
    run = TrainingRun(engine=engine, params=params, requested_by=requested_by,
                      dataset={"receipt_ids": list(receipt_ids)} if receipt_ids else {})
    session.add(run)
    session.flush()
    return run


def enqueue_run(run_id: int) -> None:
    """Send a committed run to the trainer."""
    celery_app().send_task(TASK_TRAIN, kwargs={"run_id": run_id}, queue=TRAINING_QUEUE)
