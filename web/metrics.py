"""``/metrics``: Prometheus text, read from the database and the broker at each scrape.

The numbers come from where the truth is kept (rows, queue lengths), not from counters in one
process: the web runs several processes and workers run on other machines, and every scrape of
any web process sees the same figures. Access: the scrape token
(``RECEIPTFLOW_METRICS_TOKEN``, sent as ``Authorization: Bearer``), or an admin's log-in or API
token. Each family is read on its own: a broker that is away drops the queue depths (and says
so in ``receiptflow_scrape_errors``), not the whole page.
"""

from __future__ import annotations

import hmac
import logging
from collections import Counter
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, abort
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from shared import acceptance
from shared.config import get_settings
from shared.db.models import (
    Batch,
    Correction,
    Extraction,
    Receipt,
    ReceiptStatus,
    WebhookDelivery,
)
from shared.queues import ALL_QUEUES
from shared.webhooks.delivery import counts as delivery_counts
from web.auth import bearer_token
from web.db import db

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

# Seconds an extraction took (its share of the engine call): the histogram's buckets.
LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class DatabaseCollector(Collector):
    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily("receiptflow_scrape_errors",
                                   "Metric families that could not be read this scrape",
                                   labels=["family"])
        for family in (self._receipts, self._latency, self._queues, self._review,
                       self._corrections, self._webhooks):
            try:
                yield from family()
            except Exception as exc:
                log.warning("metrics: %s not read: %s", family.__name__, exc)
                self.session.rollback()
                errors.add_metric([family.__name__.strip("_")], 1)
        yield errors

    def _receipts(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("receiptflow_receipts", "Receipts by status and engine",
                                  labels=["status", "engine"])
        rows = self.session.execute(
            select(Receipt.status, Batch.engine, func.count()).join(Batch)
            .group_by(Receipt.status, Batch.engine)).all()
        for status, engine, n in rows:
            gauge.add_metric([status.value, engine], n)
        yield gauge

    def _latency(self) -> Iterator[Metric]:
        ms = Extraction.duration_ms
        columns = [func.sum(case((ms <= le * 1000, 1), else_=0)) for le in LATENCY_BUCKETS]
        family = HistogramMetricFamily(
            "receiptflow_extraction_seconds",
            "Time an extraction took (its share of the engine call)", labels=["engine"])
        for engine, total, count, *cumulative in self.session.execute(
                select(Extraction.engine, func.sum(ms), func.count(), *columns)
                .group_by(Extraction.engine)).all():
            buckets = [(str(le), int(c or 0)) for le, c in zip(LATENCY_BUCKETS, cumulative,
                                                               strict=True)]
            family.add_metric([engine], [*buckets, ("+Inf", int(count))],
                              float(total or 0) / 1000)
        yield family

    def _queues(self) -> Iterator[Metric]:
        from shared.broker import queue_depths

        gauge = GaugeMetricFamily("receiptflow_queue_depth", "Tasks waiting in each queue",
                                  labels=["queue"])
        for queue, depth in queue_depths(ALL_QUEUES).items():
            gauge.add_metric([queue], depth)
        yield gauge

    def _review(self) -> Iterator[Metric]:
        reviewed = select(Correction.receipt_id)
        backlog = self.session.scalar(select(func.count()).select_from(Receipt).where(
            Receipt.status == ReceiptStatus.DONE, ~Receipt.id.in_(reviewed),
            (Receipt.acceptance.is_(None)) | (Receipt.acceptance != acceptance.AUTO)))
        yield GaugeMetricFamily("receiptflow_review_backlog",
                                "Finished receipts waiting for a reviewer", value=backlog or 0)
        stats = acceptance.share(self.session)
        yield GaugeMetricFamily("receiptflow_auto_accepted_receipts",
                                "Receipts accepted without review", value=stats["auto"])
        yield GaugeMetricFamily("receiptflow_auto_accepted_share",
                                "Share of finished receipts accepted without review",
                                value=stats["share"])

    def _corrections(self) -> Iterator[Metric]:
        counts: Counter[str] = Counter()
        for changed in self.session.scalars(select(Correction.changed_fields).where(
                Correction.changed_fields.is_not(None))):
            counts.update(changed or [])
        gauge = GaugeMetricFamily("receiptflow_corrected_fields",
                                  "Reviews that changed the field's value", labels=["field"])
        for name, n in sorted(counts.items()):
            gauge.add_metric([name], n)
        yield gauge

    def _webhooks(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("receiptflow_webhook_deliveries",
                                  "Webhook deliveries by outcome", labels=["status"])
        for status, n in delivery_counts(self.session).items():
            gauge.add_metric([status], n)
        yield gauge
        attempts = self.session.scalar(select(func.coalesce(func.sum(WebhookDelivery.attempts),
                                                            0)))
        yield GaugeMetricFamily("receiptflow_webhook_attempts",
                                "Webhook delivery attempts made", value=attempts or 0)


def _allowed() -> bool:
    token = get_settings().metrics_token
    sent = bearer_token()
    if token and sent is not None and hmac.compare_digest(sent.encode(), token.encode()):
        return True
    return bool(current_user.is_authenticated and current_user.role == "admin")


@bp.get("/metrics")
def metrics() -> Response:
    if not _allowed():
        abort(401, "send the scrape token (RECEIPTFLOW_METRICS_TOKEN) as 'Authorization: "
                   "Bearer <token>', or an admin's API token")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
