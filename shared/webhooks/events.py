"""The events a webhook can subscribe to, and ``emit``: the outbox write.

``emit`` adds a delivery row for each active webhook subscribed to the event, in the caller's
transaction: the event is stored exactly when what it reports is, never one without the other.
After the commit, a task is sent for each new delivery; a send that fails (broker away) is
picked up by the reconciler, which sends every delivery that is due and not being sent.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from shared.db.models import Webhook, WebhookDelivery, utcnow

log = logging.getLogger(__name__)

RECEIPT_DONE = "receipt.done"
RECEIPT_FAILED = "receipt.failed"
BATCH_FINISHED = "batch.finished"
RECEIPT_REVIEWED = "receipt.reviewed"
MODEL_VERSION_PROMOTED = "model_version.promoted"
EVENTS = (RECEIPT_DONE, RECEIPT_FAILED, BATCH_FINISHED, RECEIPT_REVIEWED, MODEL_VERSION_PROMOTED)

_NEW = "webhook_deliveries_new"  # session.info key: deliveries to send after the commit
_HOOKS = "webhooks_active"  # session.info key: the active webhooks, read once per session


def emit(session: Session, kind: str, data: dict[str, Any]) -> int:
    """Store the event for every active webhook subscribed to it; returns how many."""
    from shared.config import get_settings

    assert kind in EVENTS, kind
    hooks = session.info.get(_HOOKS)
    if hooks is None:
        hooks = session.info[_HOOKS] = [
            (h.id, tuple(h.events)) for h in session.scalars(select(Webhook).where(Webhook.active))]
    targets = [hook_id for hook_id, kinds in hooks if kind in kinds]
    if not targets:
        return 0
    now = utcnow()
    deadline = now + timedelta(hours=get_settings().webhook_deadline_h)
    event_id = str(uuid.uuid4())
    envelope = {"id": event_id, "type": kind, "created": now.isoformat(), "data": data}
    rows = [WebhookDelivery(webhook_id=hook_id, event_id=event_id, event=kind, payload=envelope,
                            next_attempt_at=now, deadline_at=deadline) for hook_id in targets]
    session.add_all(rows)
    session.info.setdefault(_NEW, []).extend(rows)
    return len(rows)


def send_tasks(delivery_ids: list[int]) -> int:
    """Ask a worker to send each delivery now; returns how many tasks went out."""
    from shared.broker import celery_app
    from shared.queues import TASK_DELIVER_WEBHOOK, WEBHOOK_QUEUE

    app = celery_app()
    sent = 0
    for delivery_id in delivery_ids:
        try:
            app.send_task(TASK_DELIVER_WEBHOOK, kwargs={"delivery_id": delivery_id},
                          queue=WEBHOOK_QUEUE)
        except Exception:
            log.warning("could not send webhook deliveries to the broker; the reconciler "
                        "sends them", exc_info=True)
            break
        sent += 1
    return sent


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    rows = session.info.pop(_NEW, None)
    session.info.pop(_HOOKS, None)
    if rows:
        # The identity (the id given at the commit's flush) outlives the commit's expiry.
        keys = [inspect(row).identity for row in rows]
        send_tasks([key[0] for key in keys if key])


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_NEW, None)
    session.info.pop(_HOOKS, None)
