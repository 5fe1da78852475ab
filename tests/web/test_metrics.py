"""/metrics: Prometheus text from the database and the real broker, behind the scrape token or
an admin; parsed with prometheus-client's own parser."""

from __future__ import annotations

import io

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.config import reset_settings_cache


def _families(text: str) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


@pytest.fixture
def scrape_token(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RECEIPTFLOW_METRICS_TOKEN", "scrape-" + "x" * 24)
    reset_settings_cache()
    yield "scrape-" + "x" * 24
    monkeypatch.undo()
    reset_settings_cache()


def test_metrics_need_the_scrape_token_or_an_admin(app, anon_client, reviewer_client,
                                                   scrape_token) -> None:
    assert anon_client.get("/metrics").status_code == 401
    assert reviewer_client.get("/metrics").status_code == 401
    wrong = app.test_client()
    wrong.environ_base["HTTP_AUTHORIZATION"] = "Bearer scrape-wrong"
    assert wrong.get("/metrics").status_code == 401
    scraper = app.test_client()
    scraper.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {scrape_token}"
    resp = scraper.get("/metrics")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"


def test_metrics_count_receipts_queues_reviews_and_webhooks(client) -> None:
    before = _families(client.get("/metrics").data.decode())
    resp = client.post("/api/v1/batches", data={"files": [(io.BytesIO(b"x"),
                                                           "broken.jpg")]},
                       content_type="multipart/form-data")
    receipt_id = resp.get_json()["receipts"][0]["id"]
    client.post(f"/api/v1/receipts/{receipt_id}/corrections", json={"fields": {"date": "x"}})
    text = client.get("/metrics").data.decode()
    after = _families(text)

    def value(families: dict, name: str, **labels: str) -> float:
        return sum(s.value for s in families.get(name, []) if s.name == name
                   and all(s.labels.get(k) == v for k, v in labels.items()))

    assert value(after, "receiptflow_receipts", status="failed") == \
        value(before, "receiptflow_receipts", status="failed") + 1
    assert value(after, "receiptflow_corrected_fields", field="date") == \
        value(before, "receiptflow_corrected_fields", field="date") + 1
    queues = {s.labels["queue"] for s in after["receiptflow_queue_depth"]}
    assert {"extract-cpu", "extract-gpu", "training", "webhooks"} <= queues
    for name in ("receiptflow_review_backlog", "receiptflow_auto_accepted_share",
                 "receiptflow_webhook_deliveries", "receiptflow_extraction_seconds"):
        assert name in after, name
    assert not [s for s in after["receiptflow_scrape_errors"] if s.value], text
