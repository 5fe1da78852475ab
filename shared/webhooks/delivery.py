"""One try of one webhook delivery, and when to try again.

A try claims the delivery with a conditional UPDATE (pending, due, not held by another sender),
POSTs the signed body, and records the answer. 2xx: delivered. Anything else (an error status,
a timeout, a refused connection): tried again after a backoff that doubles up to
``RECEIPTFLOW_WEBHOOK_RETRY_CAP_S``, until the event's deadline. A receiver that was down for a
minute, or a day, still gets every event; each carries its event id (``X-ReceiptFlow-Event-Id``
and the body's ``id``) for receivers to drop the rare second copy that at-least-once allows.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from shared.config import get_settings
from shared.db.models import DeliveryStatus, Webhook, WebhookDelivery, utcnow
from shared.db.session import session_scope
from shared.webhooks import signing, targets
from shared.webhooks.events import send_tasks

log = logging.getLogger(__name__)

USER_AGENT = "ReceiptFlow-Webhooks/1"
LOG_KEPT = 20  # attempts kept on a delivery's log


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered | retry | failed | skipped (not due, or another sender holds it)
    retry_in: float | None = None  # seconds, for "retry"


def backoff(attempts: int) -> float:
    """Seconds before try ``attempts + 1``: 1, 2, 4, ... capped, jittered so the retries of one
    outage do not all land in the same second."""
    settings = get_settings()
    # A countdown past the visibility timeout would have the broker hand the retry out twice.
    cap = min(settings.webhook_retry_cap_s, settings.visibility_timeout_s / 2)
    return min(2.0 ** max(attempts - 1, 0), cap) * random.uniform(0.8, 1.0)


def _claim(delivery_id: int, now: datetime, hold_s: float) -> bool:
    with session_scope() as session:
        return bool(session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id,
                   WebhookDelivery.status == DeliveryStatus.PENDING,
                   WebhookDelivery.next_attempt_at <= now,
                   or_(WebhookDelivery.lease_expires_at.is_(None),
                       WebhookDelivery.lease_expires_at < now))
            .values(lease_expires_at=now + timedelta(seconds=hold_s),
                    attempts=WebhookDelivery.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount)


def _post(hook: Webhook, payload: dict, now: datetime) -> tuple[int | None, str | None]:
    """(status code, error): the receiver's answer, or why there was none."""
    settings = get_settings()
    try:
        targets.check(hook.url, allow_private=settings.webhook_allow_private)
    except targets.TargetRefused as exc:
        return None, f"refused: {exc}"
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    keys = [hook.secret]
    if hook.previous_secret and hook.previous_secret_expires_at and \
            hook.previous_secret_expires_at > now:
        keys.append(hook.previous_secret)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.HEADER: signing.header(keys, int(time.time()), body),
        "X-ReceiptFlow-Event": str(payload.get("type", "")),
        "X-ReceiptFlow-Event-Id": str(payload.get("id", "")),
    }
    try:
        # No redirects: a redirect could point anywhere, private addresses included.
        response = requests.post(hook.url, data=body, headers=headers,
                                 timeout=settings.webhook_timeout_s, allow_redirects=False)
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"the receiver answered {response.status_code}"


def _not_claimed(delivery_id: int, now: datetime) -> Outcome:
    """A retry that arrived a moment before its delivery is due (the broker's countdown and
    the row's time differ by milliseconds) tries again then; anything else has nothing to do:
    delivered, failed, gone, or another sender holds it."""
    with session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is not None and delivery.status == DeliveryStatus.PENDING \
                and delivery.next_attempt_at > now:
            return Outcome("retry", (delivery.next_attempt_at - now).total_seconds() + 0.05)
    return Outcome("skipped")


def deliver(delivery_id: int) -> Outcome:
    """Try to deliver it now (when due and not held); record what happened."""
    settings = get_settings()
    now = utcnow()
    if not _claim(delivery_id, now, settings.webhook_timeout_s + 30):
        return _not_claimed(delivery_id, now)
    with session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return Outcome("skipped")  # its webhook was deleted meanwhile
        hook = delivery.webhook
        started = time.perf_counter()
        if not hook.active:
            code, error = None, "the webhook was disabled"
        else:
            code, error = _post(hook, delivery.payload, now)
        ms = round((time.perf_counter() - started) * 1000, 1)
        finished = utcnow()
        delivery.log = [*delivery.log, {"at": finished.isoformat(), "status_code": code,
                                        "error": error, "ms": ms}][-LOG_KEPT:]
        delivery.last_status_code = code
        delivery.last_error = error
        delivery.lease_expires_at = None
        if error is None:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = finished
            return Outcome("delivered")
        wait = backoff(delivery.attempts)
        permanent = not hook.active or error.startswith("refused:")
        if permanent or finished + timedelta(seconds=wait) > delivery.deadline_at:
            delivery.status = DeliveryStatus.FAILED
            log.warning("webhook %s: delivery %s of %s failed for good: %s", hook.id,
                        delivery.id, delivery.event, error)
            return Outcome("failed")
        delivery.next_attempt_at = finished + timedelta(seconds=wait)
        return Outcome("retry", wait)


# A delivery due this long without a try had its task lost (the broker restarted empty, the
# send failed after the commit): the reconciler sends it again.
LOST_AFTER = timedelta(seconds=30)


def resend_due(session: Session) -> int:
    """The reconciler's round: send again every pending delivery overdue and not held."""
    now = utcnow()
    ids = session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING,
               WebhookDelivery.next_attempt_at < now - LOST_AFTER,
               or_(WebhookDelivery.lease_expires_at.is_(None),
                   WebhookDelivery.lease_expires_at < now))
        .order_by(WebhookDelivery.id).limit(1000)).all()
    sent = send_tasks(list(ids)) if ids else 0
    if sent:
        log.warning("reconciler: %d overdue webhook deliveries sent again", sent)
    return sent


def counts(session: Session) -> dict[str, int]:
    """Deliveries by status (the statuses that have any): for /metrics and the dashboard."""
    return {status.value: n for status, n in session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all()}
