"""The Celery task that sends one webhook delivery (``shared/webhooks/delivery.py``), retried
with Celery's own retry and the delivery's backoff until it is delivered or past its deadline.
Every worker consumes the ``webhooks`` queue beside its engine's. A retry lost with the broker
is not lost: the delivery row stays pending, and the reconciler sends it again when due.
"""

from __future__ import annotations

import logging

from celery import Task

from shared.broker import celery_app
from shared.queues import TASK_DELIVER_WEBHOOK
from shared.webhooks.delivery import deliver
from worker.retrying import backoff, transient

log = logging.getLogger(__name__)
app = celery_app()


@app.task(name=TASK_DELIVER_WEBHOOK, bind=True, acks_late=True, reject_on_worker_lost=True,
          max_retries=None)
def deliver_webhook(self: Task, delivery_id: int) -> str:
    try:
        outcome = deliver(delivery_id)
    except Exception as exc:
        if not transient(exc):
            raise
        # The database is away: the delivery is unchanged and still due.
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status
