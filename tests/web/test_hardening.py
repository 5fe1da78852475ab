"""The web as seen by someone hostile: redirects, password guessing, stolen cookies, spreadsheet
formulas, framing, uploads that are also pages, a missing secret key, a database that is away."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import DATA, token_client
from sqlalchemy import update

from shared.config import ConfigError, Settings, reset_settings_cache
from shared.db.models import LoginSession, utcnow
from shared.db.session import session_scope
from web import create_app
from web.auth.users import create_user

META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def _csrf(client: FlaskClient) -> str:
    return META.search(client.get("/login").get_data(as_text=True))[1]  # type: ignore[index]


def _login(client: FlaskClient, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": _csrf(client), **extra})


def _user(password: str = "right-password") -> str:
    name = f"h-{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        create_user(session, name, password, "reviewer")
    return name


# --- redirects after log-in ---------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "//evil.example/x", "/\t/evil.example", "/\n/evil.example", "/\r/evil.example",
    "/\\evil.example", "\\\\evil.example", "https://evil.example/", " //evil.example",
    "/\x00/evil.example", "javascript:alert(1)",
])
def test_log_in_never_redirects_off_site(app: Flask, target: str) -> None:
    client = app.test_client()
    resp = _login(client, _user(), "right-password", next=target)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_a_local_next_is_kept(app: Flask) -> None:
    resp = _login(app.test_client(), _user(), "right-password", next="/review?batch=3")
    assert resp.headers["Location"] == "/review?batch=3"


# --- password guessing ---------------------------------------------------------------------------

def test_failed_log_ins_lock_the_account_then_429(services: dict[str, str]) -> None:
    app = create_app({"TESTING": True, "LOGIN_LIMIT_PER_ACCOUNT": "3 per 10 minutes"})
    client, name = app.test_client(), _user()
    for _ in range(3):
        assert _login(client, name, "wrong-password").status_code == 200
    resp = _login(client, name, "right-password")  # the guesser got it right: still refused
    assert resp.status_code == 429
    assert "too many log-in attempts" in resp.get_data(as_text=True)
    # Another account from the same address is not locked by it.
    assert _login(client, _user(), "right-password").status_code == 302


def test_attempts_per_address_are_limited(services: dict[str, str]) -> None:
    app = create_app({"TESTING": True, "LOGIN_LIMIT_PER_ADDRESS": "4 per 10 minutes"})
    client = app.test_client()
    address = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    csrf = _csrf(client)
    statuses = [client.post("/login", data={"username": f"n{i}", "password": "x",
                                            "csrf_token": csrf},
                            environ_base={"REMOTE_ADDR": address}).status_code
                for i in range(6)]
    assert statuses[-1] == 429 and 429 not in statuses[:4], statuses


# --- sessions held on the server -----------------------------------------------------------------

def test_a_cookie_saved_before_log_out_is_dead_after_it(app: Flask) -> None:
    client = app.test_client()
    assert _login(client, _user(), "right-password").status_code == 302
    saved = client.get_cookie("session").value  # type: ignore[union-attr]
    assert client.get("/batches").status_code == 200
    client.post("/logout", data={"csrf_token": META.search(
        client.get("/batches").get_data(as_text=True))[1]})  # type: ignore[index]
    thief = app.test_client()
    thief.set_cookie("session", saved)
    resp = thief.get("/batches")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_an_idle_session_ends(app: Flask) -> None:
    client = app.test_client()
    name = _user()
    assert _login(client, name, "right-password").status_code == 302
    assert client.get("/batches").status_code == 200
    with session_scope() as session:
        session.execute(update(LoginSession).values(
            last_seen_at=utcnow() - timedelta(minutes=61)))
    assert client.get("/batches").status_code == 302


# --- CSV exports ----------------------------------------------------------------------------------

def test_csv_cells_cannot_be_formulas(client: FlaskClient) -> None:
    resp = client.post("/api/v1/batches", data={"files": [(io.BytesIO(b"text"), "a.txt")]},
                       content_type="multipart/form-data")
    receipt = resp.get_json()["receipts"][0]["id"]
    evil = {"company": '=HYPERLINK("http://evil.example","x")', "address": "+cmd|' /C calc'!A0",
            "date": "@SUM(1+1)", "total": "-5.00"}
    assert client.post(f"/api/v1/receipts/{receipt}/corrections",
                       json={"fields": evil}).status_code == 201
    for url in (f"/api/v1/batches/{resp.get_json()['id']}/export?format=csv",
                "/api/v1/exports/reviewed?format=csv"):
        rows = list(csv.DictReader(io.StringIO(client.get(url).get_data(as_text=True))))
        row = next(r for r in rows if r["receipt_id"] == str(receipt))
        assert row["company"] == "'" + evil["company"]
        assert row["address"] == "'" + evil["address"]
        assert row["date"] == "'" + evil["date"]
        assert row["total"] == "-5.00"  # a number stays a number


# --- what browsers are told ----------------------------------------------------------------------

def test_pages_send_a_policy_without_inline_script(app: Flask, anon_client: FlaskClient) -> None:
    resp = anon_client.get("/login")
    policy = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.rglob("*.html")))
def test_templates_hold_no_inline_script_or_style(template: str) -> None:
    text = next(TEMPLATES.rglob(template)).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert not re.search(r"\sstyle\s*=", text), "inline style attribute"


def test_an_upload_that_is_also_a_page_is_served_only_as_an_image(client: FlaskClient) -> None:
    polyglot = (DATA / "sroie-000.jpg").read_bytes() + b"<html><script>alert(1)</script></html>"
    resp = client.post("/api/v1/batches", data={"files": [(io.BytesIO(polyglot), "x.html")]},
                       content_type="multipart/form-data")
    receipt = resp.get_json()["receipts"][0]
    assert receipt["status"] == "queued"
    image = client.get(f"/api/v1/receipts/{receipt['id']}/image")
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in image.headers["Content-Security-Policy"]


# --- the secret key ----------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "dev-only-change-me", "change-me-in-production", "short"])
def test_the_web_refuses_a_missing_or_published_secret_key(key: str | None) -> None:
    settings = Settings(secret_key=key)
    from web import secret_key

    with pytest.raises(ConfigError, match="RECEIPTFLOW_SECRET_KEY is"):
        secret_key(settings, testing=False)
    assert len(secret_key(Settings(secret_key=key, development=True), testing=False)) == 64


def test_receiptflow_web_exits_with_the_message(services: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RECEIPTFLOW_SECRET_KEY"}
    done = subprocess.run([sys.executable, "-m", "cli.main", "web", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "RECEIPTFLOW_SECRET_KEY is not set" in done.stderr


# --- a database that is away --------------------------------------------------------------------

def test_the_api_answers_503_while_the_database_is_away(
        services: dict[str, str], accounts: dict[str, dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1")
    reset_settings_cache()
    try:
        app = create_app({"TESTING": True})
        resp = token_client(app, accounts["admin"]["token"]).get("/api/v1/batches")
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] == "30"
        assert resp.get_json()["message"] == (
            "the database is unreachable right now, so nothing was changed; try again in 30 "
            "seconds")
        browser = app.test_client()
        page = _login(browser, "someone", "password")  # log-in needs the database
        assert page.status_code == 503
        assert "the database is unreachable right now" in page.get_data(as_text=True)
    finally:
        monkeypatch.undo()
        reset_settings_cache()
