"""Webhooks: registration and its refusals, signing and rotation, the outbox rows each event
writes, and delivery to a real receiver that was down (and then answered errors) while a real
worker processed a batch: it still gets every event, each signed."""

from __future__ import annotations

import io
import time

import pytest
from helpers import itemised_receipt, wait_for_batch, webhook_receiver
from sqlalchemy import select

from shared.config import reset_settings_cache
from shared.db.models import (
    Batch,
    ModelVersion,
    Receipt,
    ReceiptStatus,
    Webhook,
    WebhookDelivery,
)
from shared.db.session import session_scope
from shared.model_versions import activate
from shared.webhooks import events, signing, targets
from shared.webhooks.delivery import deliver

ALL = list(events.EVENTS)


@pytest.fixture
def allow_private(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RECEIPTFLOW_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("RECEIPTFLOW_WEBHOOK_RETRY_CAP_S", "2")
    reset_settings_cache()
    yield
    monkeypatch.undo()
    reset_settings_cache()


@pytest.fixture
def webhook(client, allow_private):  # type: ignore[no-untyped-def]
    """Register a webhook to a loopback receiver; deleted after the test, so no other test's
    events go to it."""
    made: list[int] = []

    def make(url: str, kinds: list[str] = ALL) -> dict:
        resp = client.post("/api/v1/webhooks", json={"url": url, "events": kinds})
        assert resp.status_code == 201, resp.get_json()
        made.append(resp.get_json()["id"])
        return resp.get_json()

    yield make
    for hook_id in made:
        client.delete(f"/api/v1/webhooks/{hook_id}")


@pytest.mark.parametrize("url, why", [
    ("http://127.0.0.1:9/hook", "private, loopback or link-local"),
    ("http://localhost/hook", "private, loopback or link-local"),
    ("http://169.254.169.254/latest/meta-data", "private, loopback or link-local"),
    ("http://10.1.2.3/", "private, loopback or link-local"),
    ("http://[::1]/", "private, loopback or link-local"),
    ("http://[::ffff:127.0.0.1]/", "private, loopback or link-local"),
    ("ftp://example.com/", "must start with https://"),
    ("file:///etc/passwd", "must start with https://"),
    ("https://user:pw@example.com/", "user name or password"),
    ("https://exa mple.com/", "spaces or control"),
    ("https://no-such-host.invalid/", "does not resolve"),
])
def test_unsafe_targets_are_refused_with_a_reason(client, url: str, why: str) -> None:
    resp = client.post("/api/v1/webhooks", json={"url": url, "events": ["receipt.done"]})
    assert resp.status_code == 422
    assert why in resp.get_json()["message"]


def test_registration_checks_events_and_roles(client, reviewer_client) -> None:
    resp = client.post("/api/v1/webhooks", json={"url": "https://example.com/h",
                                                 "events": ["receipt.exploded"]})
    assert resp.status_code == 422 and "receipt.exploded" in resp.get_json()["message"]
    assert client.post("/api/v1/webhooks", json={"url": "https://example.com/h",
                                                 "events": []}).status_code == 422
    assert reviewer_client.get("/api/v1/webhooks").status_code == 403
    assert reviewer_client.post("/api/v1/webhooks", json={
        "url": "https://example.com/h", "events": ["receipt.done"]}).status_code == 403


def test_private_targets_need_the_operator_s_consent(webhook) -> None:
    hook = webhook("http://127.0.0.1:9/hook", ["receipt.done"])
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["receipt.done"]


def test_signatures_verify_and_a_rotation_signs_with_both_secrets(client, webhook) -> None:
    receiver = webhook_receiver.Receiver(webhook_receiver.free_port())
    receiver.start()
    try:
        hook = webhook(receiver.url, [events.MODEL_VERSION_PROMOTED])
        listed = client.get("/api/v1/webhooks").get_json()
        assert all("secret" not in h for h in listed)  # shown once, at creation
        rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret").get_json()
        assert rotated["secret"] != hook["secret"] and rotated["previous_secret_expires_at"]
        with session_scope() as session:
            version = ModelVersion(engine="ocr", name="hook-test", base_model="rules")
            session.add(version)
            session.flush()
            activate(session, version)  # the event is written with the promotion
            version_id = version.id
        with session_scope() as session:
            delivery = session.scalars(select(WebhookDelivery).where(
                WebhookDelivery.webhook_id == hook["id"])).one()
            delivery_id = delivery.id
            assert delivery.payload["data"]["model_version"]["id"] == version_id
        assert deliver(delivery_id).status == "delivered"
        headers, body = receiver.requests[-1]
        value = headers[signing.HEADER]
        assert value.count("v1=") == 2
        assert signing.verify(rotated["secret"], value, body)
        assert signing.verify(hook["secret"], value, body)  # the old one, for the overlap
        assert not signing.verify("whsec_wrong", value, body)
        assert not signing.verify(rotated["secret"], value, body + b" ")
        assert not signing.verify(rotated["secret"], value, body, now=time.time() + 3600)
        assert headers["X-ReceiptFlow-Event"] == "model_version.promoted"
        assert deliver(delivery_id).status == "skipped"  # delivered: never sent twice
    finally:
        receiver.stop()
        with session_scope() as session:
            for v in session.scalars(select(ModelVersion).where(
                    ModelVersion.name == "hook-test")):
                session.delete(v)


def test_a_correction_writes_a_reviewed_event(client, webhook) -> None:
    hook = webhook("http://127.0.0.1:9/hook", [events.RECEIPT_REVIEWED])
    resp = client.post("/api/v1/batches", data={"files": [(io.BytesIO(b"x"),
                                                           "broken.jpg")]},
                       content_type="multipart/form-data")
    receipt_id = resp.get_json()["receipts"][0]["id"]
    resp = client.post(f"/api/v1/receipts/{receipt_id}/corrections",
                       json={"fields": {"total": "9.99"}})
    assert resp.status_code in (200, 201), resp.get_json()
    with session_scope() as session:
        rows = session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.webhook_id == hook["id"])).all()
    assert [r.event for r in rows] == ["receipt.reviewed"]
    assert rows[0].payload["data"]["review"]["changed_fields"] == ["total"]
    assert rows[0].payload["data"]["receipt"]["values"] == {} or \
        rows[0].payload["data"]["receipt"]["id"] == receipt_id


def test_targets_are_checked_again_when_sent() -> None:
    with pytest.raises(targets.TargetRefused):
        targets.check("http://127.0.0.1/", allow_private=False)
    assert targets.check("http://127.0.0.1/", allow_private=True)


@pytest.mark.slow
def test_a_receiver_that_was_down_gets_every_signed_event(client, webhook, start_worker) -> None:
    receiver = webhook_receiver.Receiver(webhook_receiver.free_port(), fail_first=3)
    hook = webhook(receiver.url, [events.RECEIPT_DONE, events.RECEIPT_FAILED,
                                  events.BATCH_FINISHED])
    start_worker(env={"RECEIPTFLOW_WEBHOOK_ALLOW_PRIVATE": "true",
                      "RECEIPTFLOW_WEBHOOK_RETRY_CAP_S": "2",
                      "RECEIPTFLOW_RECONCILE_INTERVAL_S": "2"})
    files = [(io.BytesIO(itemised_receipt(f"{10 + i}.00")), f"r{i}.pdf")
             for i in range(6)]
    files.append((io.BytesIO(b"not an image"), "broken.jpg"))
    resp = client.post("/api/v1/batches", data={"files": files, "name": "hooks"},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    batch = wait_for_batch(client, resp.get_json()["id"], timeout=120)
    assert batch["counts"]["done"] == 6 and batch["counts"]["failed"] == 1

    def ours(event: dict) -> bool:
        # Receipts other tests left unfinished may be finished by this worker meanwhile, and
        # their events go to every subscribed webhook too: count this batch's.
        data = event["data"]
        return (data.get("receipt") or data.get("batch") or {}).get(
            "batch_id" if "receipt" in data else "id") == batch["id"]

    def log(every: bool = False) -> list[dict]:
        rows = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries").get_json()
        return rows if every else [d for d in rows if ours(d["payload"])]

    # The receiver is down: every event is stored, tried, and waiting.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(d["attempts"] >= 1 for d in log()):
        time.sleep(0.5)
    down = log()
    assert len(down) == 8 and {d["status"] for d in down} == {"pending"}
    assert all(d["last_status_code"] is None and d["last_error"] for d in down)

    receiver.start()  # back, answering 503 three times first
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and any(d["status"] != "delivered" for d in log()):
            time.sleep(0.5)
        final = log()
        assert {d["status"] for d in final} == {"delivered"}, final
        received = [e for e in receiver.events() if ours(e)]
        assert {e["id"] for e in received} == {d["event_id"] for d in final}
        kinds = sorted(e["type"] for e in {e["id"]: e for e in received}.values())
        assert kinds == ["batch.finished", "receipt.done", *["receipt.done"] * 5,
                         "receipt.failed"]
        for headers, body in receiver.requests:
            assert signing.verify(hook["secret"], headers[signing.HEADER], body)
        assert [a["status_code"] for d in log(every=True) for a in d["log"]].count(503) == 3
        codes = [a["status_code"] for d in final for a in d["log"]]
        assert None in codes and codes.count(204) == 8
        finished = next(e for e in received if e["type"] == "batch.finished")
        assert finished["data"]["batch"]["counts"]["done"] == 6
    finally:
        receiver.stop()
    with session_scope() as session:
        marked = session.get(Batch, batch["id"])
        assert marked is not None and marked.finished_at is not None
        assert session.scalar(select(Webhook).where(Webhook.id == hook["id"])) is not None
        assert {r.status for r in session.scalars(select(Receipt).where(
            Receipt.batch_id == batch["id"]))} == {ReceiptStatus.DONE, ReceiptStatus.FAILED}


def test_a_retry_that_comes_early_waits_for_its_time() -> None:
    from datetime import timedelta

    from shared.db.models import utcnow

    with session_scope() as session:
        hook = Webhook(url="http://127.0.0.1:9/early", events=["receipt.done"], secret="s")
        session.add(hook)
        session.flush()
        delivery = WebhookDelivery(webhook_id=hook.id, event_id="e-early", event="receipt.done",
                                   payload={}, next_attempt_at=utcnow() + timedelta(seconds=5),
                                   deadline_at=utcnow() + timedelta(hours=1))
        session.add(delivery)
        session.flush()
        hook_id, delivery_id = hook.id, delivery.id
    try:
        outcome = deliver(delivery_id)
        assert outcome.status == "retry" and 4 < (outcome.retry_in or 0) <= 5.1
        with session_scope() as session:
            assert session.get(WebhookDelivery, delivery_id).attempts == 0  # nothing was sent
    finally:
        with session_scope() as session:
            session.delete(session.get(Webhook, hook_id))
