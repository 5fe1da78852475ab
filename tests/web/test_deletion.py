"""Deleting data: an admin removes a batch or a receipt for good, with its corrections and its
stored files (a file another receipt still uses stays), and the audit log says who and when."""

from __future__ import annotations

import io
import os
import re

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from shared.db.models import AuditEvent, Batch, Correction, Receipt
from shared.db.session import session_scope
from shared.storage import content_key, get_storage

API = "/api/v1"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.frombytes("L", (64, 48), os.urandom(64 * 48)).convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


def _batch(client: FlaskClient, *files: bytes) -> dict:
    resp = client.post(f"{API}/batches", content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(f), f"r{i}.jpg") for i, f in enumerate(files)]})
    assert resp.status_code == 201
    return resp.get_json()


def _count(model: type, *where: object) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_deleting_a_batch_removes_its_rows_and_unshared_files(client: FlaskClient) -> None:
    own, shared = _jpeg(), _jpeg()
    doomed = _batch(client, own, shared)
    keeper = _batch(client, shared)  # the same file in another batch
    receipt_ids = [r["id"] for r in doomed["receipts"]]
    assert client.post(f"{API}/receipts/{receipt_ids[0]}/corrections",
                       json={"fields": {"total": "1.00"}}).status_code == 201

    resp = client.delete(f"{API}/batches/{doomed['id']}")
    assert resp.status_code == 200
    assert resp.get_json() == {"receipts": 2, "files": 1}
    assert _count(Batch, Batch.id == doomed["id"]) == 0
    assert _count(Receipt, Receipt.id.in_(receipt_ids)) == 0
    assert _count(Correction, Correction.receipt_id.in_(receipt_ids)) == 0
    storage = get_storage()
    assert not storage.exists(content_key(own))
    assert storage.exists(content_key(shared))  # still the other batch's
    assert client.get(f"{API}/receipts/{keeper['receipts'][0]['id']}/image").status_code == 200
    assert client.get(f"{API}/batches/{doomed['id']}").status_code == 404

    events = client.get(f"{API}/audit-events").get_json()
    event = next(e for e in events if e["target"] == f"batch {doomed['id']}")
    assert event["action"] == "batch.deleted" and event["actor"] == "test-admin"
    assert event["details"]["receipts"] == 2


def test_deleting_one_receipt(client: FlaskClient) -> None:
    batch = _batch(client, _jpeg(), _jpeg())
    gone, kept = (r["id"] for r in batch["receipts"])
    assert client.delete(f"{API}/receipts/{gone}").get_json() == {"receipts": 1, "files": 1}
    assert client.get(f"{API}/receipts/{gone}").status_code == 404
    assert [r["id"] for r in client.get(f"{API}/batches/{batch['id']}").get_json()
            ["receipts"]] == [kept]
    assert _count(AuditEvent, AuditEvent.target == f"receipt {gone}") == 1


def test_reviewers_cannot_delete(reviewer_client: FlaskClient, client: FlaskClient) -> None:
    batch = _batch(client, _jpeg())
    assert reviewer_client.delete(f"{API}/batches/{batch['id']}").status_code == 403
    assert reviewer_client.delete(
        f"{API}/receipts/{batch['receipts'][0]['id']}").status_code == 403
    assert _count(Batch, Batch.id == batch["id"]) == 1


def test_admins_delete_from_the_batch_page(app: Flask, client: FlaskClient,
                                           accounts: dict[str, dict[str, str]]) -> None:
    batch = _batch(client, _jpeg())
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)[1]  # type: ignore[index]
    browser.post("/login", data={"username": accounts["admin"]["username"],
                                 "password": accounts["admin"]["password"], "csrf_token": csrf})
    html = browser.get(f"/batches/{batch['id']}").get_data(as_text=True)
    assert 'id="delete-batch"' in html and "data-confirm=" in html
    resp = browser.post(f"/batches/{batch['id']}/delete", data={"csrf_token": csrf})
    assert resp.status_code == 302 and resp.headers["Location"] == "/batches"
    assert _count(Batch, Batch.id == batch["id"]) == 0
    assert f"batch {batch['id']}" in browser.get("/admin/audit").get_data(as_text=True)
