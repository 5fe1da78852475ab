"""Webhooks (admin): register a receiver (its secret shown once), rotate, delete, and read the
delivery log with the receivers' status codes."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from shared.db.models import Webhook
from shared.webhooks import events
from web.api.webhooks import create_webhook, delete_webhook, deliveries, rotate_secret
from web.db import db, get_or_404
from web.pages import bp


@bp.route("/admin/webhooks", methods=["GET", "POST"])
def webhooks() -> str:
    secret = None
    if request.method == "POST":
        hook = create_webhook(request.form.get("url", ""), request.form.getlist("events"),
                              current_user.username)
        secret = hook.secret
        flash(f"webhook {hook.id} registered: copy its secret now, it is not shown again")
    hooks = db().scalars(select(Webhook).order_by(Webhook.id)).all()
    return render_template("webhooks.html", hooks=hooks, kinds=events.EVENTS, secret=secret)


@bp.get("/admin/webhooks/<int:webhook_id>")
def webhook(webhook_id: int) -> str:
    hook = get_or_404(Webhook, webhook_id, "webhook")
    status = request.args.get("status")
    status = status if status in ("pending", "delivered", "failed") else None
    return render_template("webhook.html", hook=hook, status=status,
                           deliveries=deliveries(hook.id, status, 200), secret=None)


@bp.post("/admin/webhooks/<int:webhook_id>/rotate")
def rotate_webhook(webhook_id: int) -> str:
    hook = get_or_404(Webhook, webhook_id, "webhook")
    rotate_secret(hook)
    flash("new secret made: the old one also signs for 24 hours")
    return render_template("webhook.html", hook=hook, status=None,
                           deliveries=deliveries(hook.id, None, 200), secret=hook.secret)


@bp.post("/admin/webhooks/<int:webhook_id>/delete")
def remove_webhook(webhook_id: int) -> Response:
    delete_webhook(get_or_404(Webhook, webhook_id, "webhook"))
    flash(f"webhook {webhook_id} deleted")
    return redirect(url_for("pages.webhooks"))
