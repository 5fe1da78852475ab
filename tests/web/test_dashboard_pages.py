"""The dashboard, the webhooks admin pages and the calibration section of the training page
render real rows: charts as inline SVG, a secret shown once, the delivery log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete

from shared import acceptance, calibration
from shared.config import reset_settings_cache
from shared.db.models import CalibrationFit, Webhook
from shared.db.session import session_scope


def test_dashboard_draws_its_charts(reviewer_client) -> None:
    page = reviewer_client.get("/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") >= 2 and "Receipts finished per hour" in html
    main = html.split("<main")[1].split("</main>")[0]
    assert 'id="auto-share"' in main and "<script" not in main  # no script: CSP-clean


def test_training_page_shows_reliability_diagrams(client) -> None:
    conf = [i / 100 for i in range(100)]
    right = [c > 0.3 for c in conf]
    cal = calibration.fit("total", conf, right)
    assert cal is not None
    with session_scope() as session:
        session.add(CalibrationFit(scope="pagetest/base", engine="pagetest", field="total",
                                   data=cal.to_json(), samples=cal.samples))
    try:
        html = client.get("/training").get_data(as_text=True)
        section = html.split('data-scope="pagetest/base"')[1]
        assert "<circle" in section and "ECE" in section and "accepts at" in section
    finally:
        with session_scope() as session:
            session.execute(delete(CalibrationFit).where(CalibrationFit.scope == "pagetest/base"))
        acceptance._cache.clear()


@pytest.fixture
def allow_private(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RECEIPTFLOW_WEBHOOK_ALLOW_PRIVATE", "true")
    reset_settings_cache()
    yield
    monkeypatch.undo()
    reset_settings_cache()


def test_webhook_pages_register_rotate_and_delete(client, reviewer_client, allow_private) -> None:
    assert reviewer_client.get("/admin/webhooks").status_code == 403
    page = client.post("/admin/webhooks", data={"url": "http://127.0.0.1:9/x",
                                                "events": ["receipt.done", "batch.finished"]})
    html = page.get_data(as_text=True)
    secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', html)
    assert page.status_code == 200 and secret
    with session_scope() as session:
        hook = session.query(Webhook).filter_by(url="http://127.0.0.1:9/x").one()
        assert hook.secret == secret[1] and hook.events == ["receipt.done", "batch.finished"]
        hook_id = hook.id
    assert secret[1] not in client.get("/admin/webhooks").get_data(as_text=True)
    rotated = client.post(f"/admin/webhooks/{hook_id}/rotate").get_data(as_text=True)
    new = re.search(r'id="webhook-secret">(whsec_[^<]+)<', rotated)
    assert new and new[1] != secret[1] and 'id="deliveries"' in rotated
    bad = client.post("/admin/webhooks", data={"url": "ftp://x", "events": ["receipt.done"]})
    assert bad.status_code == 422
    assert client.post(f"/admin/webhooks/{hook_id}/delete").status_code == 302
    with session_scope() as session:
        assert session.get(Webhook, hook_id) is None
