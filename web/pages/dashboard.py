"""The dashboard: throughput over time, accuracy per model version, the auto-accept share, and
the figures an operator checks first (backlog, queues, webhooks). Drawn as inline SVG
(``web/plots.py``); the same numbers are on ``/metrics`` for Prometheus."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from flask import render_template
from sqlalchemy import select

from shared import acceptance
from shared.db.models import (
    DeliveryStatus,
    ModelVersion,
    Receipt,
    ReceiptStatus,
    utcnow,
)
from shared.webhooks.delivery import counts as delivery_counts
from web.db import db
from web.pages import bp
from web.plots import Series, bars

HOURS = 48
DAYS = 14


def _finished_since(days: float) -> list[tuple]:
    since = utcnow() - timedelta(days=days)
    return list(db().execute(
        select(Receipt.finished_at, Receipt.status, Receipt.acceptance)
        .where(Receipt.finished_at >= since, Receipt.finished_at.is_not(None))).all())


def throughput_chart():  # type: ignore[no-untyped-def]
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    hours = [now - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    counts: dict[str, Counter] = {"done": Counter(), "failed": Counter()}
    for finished, status, _ in _finished_since(HOURS / 24 + 1 / 24):
        key = finished.replace(minute=0, second=0, microsecond=0)
        counts["failed" if status == ReceiptStatus.FAILED else "done"][key] += 1
    labels = [h.strftime("%H:00") for h in hours]
    return bars(f"Receipts finished per hour, last {HOURS} hours (UTC)", labels, [
        Series("done", [counts["done"][h] for h in hours], "c-done"),
        Series("failed", [counts["failed"][h] for h in hours], "c-failed")], every=6)


def auto_accept_chart():  # type: ignore[no-untyped-def]
    today = utcnow().date()
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    auto: Counter = Counter()
    done: Counter = Counter()
    for finished, status, accepted in _finished_since(DAYS):
        if status == ReceiptStatus.DONE:
            done[finished.date()] += 1
            auto[finished.date()] += accepted == acceptance.AUTO
    shares = [100 * auto[d] / done[d] if done[d] else 0.0 for d in days]
    return bars(f"Share of finished receipts accepted without review, last {DAYS} days", [
        d.strftime("%d %b") for d in days], [Series("auto-accepted", shares, "c-auto")],
        y_max=100, y_unit="%", every=2)


def accuracy_chart():  # type: ignore[no-untyped-def]
    versions = db().scalars(select(ModelVersion).order_by(ModelVersion.id)
                            .where(ModelVersion.metrics.is_not(None))).all()
    scored = [(v, v.metrics.get("candidate") or {}) for v in versions]
    scored = [(v, m) for v, m in scored if "mean" in m][-12:]
    if not scored:
        return None
    labels = [f"v{v.id} {v.engine}" for v, _ in scored]
    return bars("Held-out accuracy per model version (fuzzy mean, exact-match %)", labels, [
        Series("fuzzy", [float(m["mean"]) for _, m in scored], "c-fuzzy"),
        Series("exact %", [float(m.get("exact_mean", 0.0)) for _, m in scored], "c-exact")],
        y_max=100, stacked=False)


def figures() -> dict[str, object]:
    from shared.broker import queue_depths
    from shared.queues import ALL_QUEUES

    try:
        queues: dict[str, int] | None = queue_depths(ALL_QUEUES)
    except Exception:
        queues = None  # the broker is away: the page still shows the rest
    deliveries = delivery_counts(db())
    return {"accept": acceptance.share(db()), "queues": queues,
            "webhooks": {s.value: deliveries.get(s.value, 0) for s in DeliveryStatus}}


@bp.get("/dashboard")
def dashboard() -> str:
    return render_template("dashboard.html", throughput=throughput_chart(),
                           auto_accept=auto_accept_chart(), accuracy=accuracy_chart(),
                           figures=figures())
