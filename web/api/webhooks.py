"""Webhooks: register a receiver, rotate its secret, read its delivery log (admins)."""

from __future__ import annotations

from datetime import timedelta

from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import select

from shared.config import get_settings
from shared.db.models import DeliveryStatus, Webhook, WebhookDelivery, utcnow
from shared.webhooks import events, signing, targets
from web import audit
from web.api import blp
from web.api.schemas import (
    DeliveryQuerySchema,
    WebhookCreatedSchema,
    WebhookDeliverySchema,
    WebhookInSchema,
    WebhookSchema,
)
from web.db import db, get_or_404

# After a rotation the old secret keeps signing this long, beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)


def create_webhook(url: str, kinds: list[str], author: str) -> Webhook:
    """Shared by the API and the admin page: the webhook, its secret to be shown once."""
    unknown = sorted(set(kinds) - set(events.EVENTS))
    if unknown or not kinds:
        abort(422, message=f"unknown events {unknown}; choose from {list(events.EVENTS)}")
    try:
        url = targets.check(url.strip(), allow_private=get_settings().webhook_allow_private)
    except targets.TargetRefused as exc:
        abort(422, message=str(exc))
    hook = Webhook(url=url, events=sorted(set(kinds), key=events.EVENTS.index),
                   secret=signing.new_secret(), created_by=author)
    db().add(hook)
    db().flush()
    audit.record(db(), "webhook.created", f"webhook {hook.id}", url=url, events=hook.events)
    db().commit()
    return hook


def rotate_secret(hook: Webhook) -> None:
    """A new secret (``hook.secret``, to be shown once); the old one signs beside it a while."""
    hook.previous_secret, hook.secret = hook.secret, signing.new_secret()
    hook.previous_secret_expires_at = utcnow() + ROTATION_OVERLAP
    audit.record(db(), "webhook.secret_rotated", f"webhook {hook.id}")
    db().commit()


def delete_webhook(hook: Webhook) -> None:
    audit.record(db(), "webhook.deleted", f"webhook {hook.id}", url=hook.url)
    db().delete(hook)
    db().commit()


def deliveries(hook_id: int, status: str | None, limit: int) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook_id)
    if status:
        query = query.where(WebhookDelivery.status == DeliveryStatus(status))
    return list(db().scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def _hook(webhook_id: int) -> Webhook:
    return get_or_404(Webhook, webhook_id, "webhook")


@blp.route("/webhooks", methods=["POST"])
@blp.arguments(WebhookInSchema)
@blp.response(201, WebhookCreatedSchema)
def create_webhook_api(body: dict) -> Webhook:
    """Register a receiver for these events. The answer holds the signing secret, shown once."""
    return create_webhook(body["url"], body["events"], current_user.username)


@blp.route("/webhooks", methods=["GET"])
@blp.response(200, WebhookSchema(many=True))
def list_webhooks() -> list[Webhook]:
    return list(db().scalars(select(Webhook).order_by(Webhook.id)))


@blp.route("/webhooks/<int:webhook_id>", methods=["GET"])
@blp.response(200, WebhookSchema)
def show_webhook(webhook_id: int) -> Webhook:
    return _hook(webhook_id)


@blp.route("/webhooks/<int:webhook_id>", methods=["DELETE"])
@blp.response(204)
def delete_webhook_api(webhook_id: int) -> None:
    """Stop sending to this receiver; its pending deliveries are dropped with it."""
    delete_webhook(_hook(webhook_id))


@blp.route("/webhooks/<int:webhook_id>/rotate-secret", methods=["POST"])
@blp.response(200, WebhookCreatedSchema)
def rotate_webhook_secret(webhook_id: int) -> Webhook:
    """A new signing secret, shown once; the old one also signs for 24 hours (a second v1=)."""
    hook = _hook(webhook_id)
    rotate_secret(hook)
    return hook


@blp.route("/webhooks/<int:webhook_id>/deliveries", methods=["GET"])
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, WebhookDeliverySchema(many=True))
def list_webhook_deliveries(query: dict, webhook_id: int) -> list[WebhookDelivery]:
    """The delivery log, newest first: status, attempts, the receiver's last status code."""
    _hook(webhook_id)
    return deliveries(webhook_id, query["status"], query["limit"])


@blp.route("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/retry", methods=["POST"])
@blp.response(202, WebhookDeliverySchema)
def retry_webhook_delivery(webhook_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now (one that failed for good gets a new deadline)."""
    delivery = get_or_404(WebhookDelivery, delivery_id, "delivery")
    if delivery.webhook_id != webhook_id:
        abort(404, message=f"webhook {webhook_id} has no delivery {delivery_id}")
    now = utcnow()
    delivery.status, delivery.next_attempt_at, delivery.lease_expires_at = (
        DeliveryStatus.PENDING, now, None)
    delivery.deadline_at = max(delivery.deadline_at,
                               now + timedelta(hours=get_settings().webhook_deadline_h))
    db().commit()
    events.send_tasks([delivery.id])
    return delivery
