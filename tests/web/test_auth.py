"""Accounts: log-in and log-out, CSRF on session requests, API tokens (shown once, stored
hashed, revocable), deactivated users, corrections signed by the logged-in user, the CLI."""

from __future__ import annotations

import hashlib
import re

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from helpers import token_client
from sqlalchemy import select

from cli.main import cli
from shared.db.models import ApiToken, Batch, Correction, Receipt, ReceiptStatus, User
from shared.db.session import session_scope
from web.auth.users import create_user

Accounts = dict[str, dict[str, str]]
META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of this client's session, read from a page as a browser would."""
    page = client.get("/login").get_data(as_text=True)
    match = META.search(page)
    assert match, "the page has no <meta name=csrf-token>"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    form = {"username": username, "password": password, "csrf_token": csrf_of(client), **extra}
    return client.post("/login", data=form)


def new_user(role: str = "reviewer", password: str = "s3cret-pass") -> tuple[str, str]:
    import uuid

    name = f"u-{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        create_user(session, name, password, role)
    return name, password


@pytest.fixture(scope="module")
def receipt_id(services: dict[str, str]) -> int:
    from shared.config import get_settings

    with session_scope() as session:
        batch = Batch(name="auth", engine="ocr",
                      fields=[f.model_dump() for f in get_settings().fields])
        receipt = Receipt(batch=batch, original_name="r.jpg", status=ReceiptStatus.DONE)
        session.add_all([batch, receipt])
        session.flush()
        return receipt.id


# --- log-in and log-out ------------------------------------------------------------------------

def test_login_then_logout(anon_client: FlaskClient, accounts: Accounts) -> None:
    resp = anon_client.get("/batches")
    assert resp.status_code == 302 and resp.location.startswith("/login?next=/batches")

    resp = login(anon_client, accounts["reviewer"]["username"], accounts["reviewer"]["password"],
                 next="/batches")
    assert resp.status_code == 302 and resp.location == "/batches"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = anon_client.get("/batches")
    assert page.status_code == 200
    assert "test-reviewer" in page.get_data(as_text=True)  # the nav shows who is logged in

    resp = anon_client.post("/logout", data={"csrf_token": csrf_of(anon_client)})
    assert resp.status_code == 302 and resp.location == "/login"
    assert anon_client.get("/batches").status_code == 302
    assert anon_client.get("/api/v1/batches").status_code == 401


def test_wrong_password_and_unknown_user(anon_client: FlaskClient, accounts: Accounts) -> None:
    for name, password in [(accounts["admin"]["username"], "wrong-password"), ("nobody", "x")]:
        resp = login(anon_client, name, password)
        assert resp.status_code == 200
        assert "wrong username or password" in resp.get_data(as_text=True)
        assert anon_client.get("/batches").status_code == 302


def test_next_is_only_a_local_path(anon_client: FlaskClient, accounts: Accounts) -> None:
    resp = login(anon_client, accounts["reviewer"]["username"], accounts["reviewer"]["password"],
                 next="//evil.example/x")
    assert resp.status_code == 302 and resp.location == "/"


def test_inactive_user_cannot_log_in_and_loses_session_and_tokens(app: Flask) -> None:
    name, password = new_user()
    browser = app.test_client()
    assert login(browser, name, password).status_code == 302
    assert browser.get("/batches").status_code == 200
    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == name))
        from web.auth.tokens import create_token

        _row, token = create_token(session, user, "cron")
    assert token_client(app, token).get("/api/v1/batches").status_code == 200

    with session_scope() as session:
        session.scalar(select(User).where(User.username == name)).active = False
    assert browser.get("/batches").status_code == 302  # the running session ends
    assert token_client(app, token).get("/api/v1/batches").status_code == 401
    fresh = app.test_client()
    resp = login(fresh, name, password)
    assert "wrong username or password" in resp.get_data(as_text=True)
    assert fresh.get("/batches").status_code == 302


def test_password_reset_ends_other_sessions(app: Flask, client: FlaskClient) -> None:
    name, password = new_user()
    browser = app.test_client()
    assert login(browser, name, password).status_code == 302
    with session_scope() as session:
        user_id = session.scalar(select(User.id).where(User.username == name))
    resp = client.post(f"/admin/users/{user_id}", data={"password": "a-new-password"})
    assert resp.status_code == 302
    assert browser.get("/batches").status_code == 302
    assert login(app.test_client(), name, "a-new-password").status_code == 302


def test_cookie_is_secure_outside_testing(services: dict[str, str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.config import reset_settings_cache
    from web import create_app

    assert create_app({"TESTING": False}).config["SESSION_COOKIE_SECURE"] is True
    assert create_app({"TESTING": True}).config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("RECEIPTFLOW_COOKIE_SECURE", "false")
    reset_settings_cache()
    try:
        assert create_app({"TESTING": False}).config["SESSION_COOKIE_SECURE"] is False
    finally:
        monkeypatch.delenv("RECEIPTFLOW_COOKIE_SECURE")
        reset_settings_cache()


# --- CSRF --------------------------------------------------------------------------------------

def test_csrf_is_required_for_session_requests(anon_client: FlaskClient, accounts: Accounts,
                                               receipt_id: int) -> None:
    # The log-in form itself (no login CSRF).
    resp = anon_client.post("/login", data={"username": accounts["reviewer"]["username"],
                                            "password": accounts["reviewer"]["password"]})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)

    assert login(anon_client, accounts["reviewer"]["username"],
                 accounts["reviewer"]["password"]).status_code == 302
    url = f"/api/v1/receipts/{receipt_id}/corrections"
    body = {"fields": {"total": "1.00"}}
    resp = anon_client.post(url, json=body)
    assert resp.status_code == 400 and "CSRF" in resp.get_json()["message"]
    resp = anon_client.post(url, json=body, headers={"X-CSRFToken": "forged"})
    assert resp.status_code == 400
    resp = anon_client.post(url, json=body, headers={"X-CSRFToken": csrf_of(anon_client)})
    assert resp.status_code == 201, resp.get_json()
    # An HTML form: the field, not the header.
    resp = anon_client.post(f"/receipts/{receipt_id}", data={"total": "2.00"})
    assert resp.status_code == 400
    resp = anon_client.post(f"/receipts/{receipt_id}",
                            data={"total": "2.00", "csrf_token": csrf_of(anon_client)})
    assert resp.status_code == 302


def test_bearer_requests_need_no_csrf(reviewer_client: FlaskClient, receipt_id: int) -> None:
    resp = reviewer_client.post(f"/api/v1/receipts/{receipt_id}/corrections",
                                json={"fields": {"total": "3.00"}})
    assert resp.status_code == 201


# --- API tokens --------------------------------------------------------------------------------

def test_unauthenticated_api_gets_401_with_bearer_challenge(anon_client: FlaskClient) -> None:
    resp = anon_client.get("/api/v1/batches")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.get_json()["code"] == 401
    resp = anon_client.get("/api/v1/batches", headers={"Authorization": "Bearer not-a-token"})
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_token_made_on_the_admin_page_works_until_revoked(app: Flask, client: FlaskClient,
                                                           accounts: Accounts) -> None:
    resp = client.post("/admin/tokens", data={"username": accounts["reviewer"]["username"],
                                              "name": "scanner"})
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code id="new-token">([^<]+)</code>', resp.get_data(as_text=True))[1]
    assert token not in client.get("/admin/tokens").get_data(as_text=True)  # shown once

    api = token_client(app, token)
    assert api.get("/api/v1/batches").status_code == 200
    with session_scope() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == "scanner"))
        assert row.last_used_at is not None
        token_id = row.id
    assert client.post(f"/admin/tokens/{token_id}/revoke").status_code == 302
    resp = api.get("/api/v1/batches")
    assert resp.status_code == 401


def test_tokens_are_stored_hashed(accounts: Accounts) -> None:
    token = accounts["admin"]["token"]
    with session_scope() as session:
        rows = session.scalars(select(ApiToken)).all()
        stored = [str(getattr(r, c.key)) for r in rows for c in ApiToken.__table__.columns]
        mine = [r for r in rows if r.token_hash == hashlib.sha256(token.encode()).hexdigest()]
    assert len(mine) == 1 and token.startswith(mine[0].prefix)
    assert not any(token in value for value in stored)


def test_a_session_is_ignored_when_a_bearer_token_is_sent(anon_client: FlaskClient,
                                                         accounts: Accounts) -> None:
    login(anon_client, accounts["admin"]["username"], accounts["admin"]["password"])
    assert anon_client.get("/api/v1/batches").status_code == 200
    resp = anon_client.get("/api/v1/batches", headers={"Authorization": "Bearer revoked-or-bad"})
    assert resp.status_code == 401


# --- corrections are signed by the logged-in user ----------------------------------------------

def test_correction_author_is_the_authenticated_user(reviewer_client: FlaskClient,
                                                     receipt_id: int) -> None:
    resp = reviewer_client.post(f"/api/v1/receipts/{receipt_id}/corrections",
                                json={"fields": {"total": "4.00"}, "author": "someone-else"})
    assert resp.status_code == 201
    assert resp.get_json()["author"] == "test-reviewer"
    with session_scope() as session:
        latest = session.scalars(select(Correction).where(Correction.receipt_id == receipt_id)
                                 .order_by(Correction.id.desc())).first()
        assert latest.author == "test-reviewer"


def test_page_correction_author_is_the_logged_in_user(anon_client: FlaskClient,
                                                      accounts: Accounts,
                                                      receipt_id: int) -> None:
    login(anon_client, accounts["admin"]["username"], accounts["admin"]["password"])
    resp = anon_client.post(f"/receipts/{receipt_id}", data={
        "total": "5.00", "author": "someone-else", "csrf_token": csrf_of(anon_client)})
    assert resp.status_code == 302
    with session_scope() as session:
        latest = session.scalars(select(Correction).where(Correction.receipt_id == receipt_id)
                                 .order_by(Correction.id.desc())).first()
        assert (latest.author, latest.fields["total"]) == ("test-admin", "5.00")


# --- admin pages -------------------------------------------------------------------------------

def test_admin_manages_users(app: Flask, client: FlaskClient,
                             reviewer_client: FlaskClient) -> None:
    assert reviewer_client.get("/admin/users").status_code == 403
    resp = client.post("/admin/users", data={"username": "Carol", "password": "long-enough",
                                             "role": "reviewer"})
    assert resp.status_code == 302
    resp = client.post("/admin/users", data={"username": "carol", "password": "long-enough"})
    assert resp.status_code == 400 and "already exists" in resp.get_data(as_text=True)
    resp = client.post("/admin/users", data={"username": "dave", "password": "short"})
    assert resp.status_code == 400 and "at least 8" in resp.get_data(as_text=True)
    assert "carol" in client.get("/admin/users").get_data(as_text=True)

    with session_scope() as session:
        carol = session.scalar(select(User).where(User.username == "carol"))
        carol_id = carol.id
    assert client.post(f"/admin/users/{carol_id}", data={"role": "admin"}).status_code == 302
    browser = app.test_client()
    login(browser, "carol", "long-enough")
    assert browser.get("/admin/users").status_code == 200
    assert client.post(f"/admin/users/{carol_id}", data={"active": "0"}).status_code == 302
    assert browser.get("/admin/users").status_code == 302


def test_admin_cannot_lock_themselves_out(app: Flask, accounts: Accounts) -> None:
    name, password = new_user("admin")
    browser = app.test_client()
    login(browser, name, password)
    with session_scope() as session:
        me = session.scalar(select(User.id).where(User.username == name))
    token = csrf_of(browser)
    for form in ({"role": "reviewer"}, {"active": "0"}):
        resp = browser.post(f"/admin/users/{me}", data={**form, "csrf_token": token})
        assert resp.status_code == 400
    assert browser.get("/admin/users").status_code == 200


# --- CLI ---------------------------------------------------------------------------------------

def test_cli_creates_an_admin_and_a_token(app: Flask, services: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "create-admin", "Root"],
                           input="first-password\nfirst-password\n")
    assert result.exit_code == 0, result.output
    assert "created admin 'root'" in result.output
    result = runner.invoke(cli, ["users", "create-admin", "root", "--password-stdin"],
                           input="first-password\n")
    assert result.exit_code == 1 and "already exists" in result.output
    result = runner.invoke(cli, ["users", "create", "rev2", "--role", "reviewer",
                                 "--password-stdin"], input="second-password\n")
    assert result.exit_code == 0, result.output

    browser = app.test_client()
    assert login(browser, "root", "first-password").status_code == 302
    assert browser.get("/admin/tokens").status_code == 200

    result = runner.invoke(cli, ["tokens", "create", "rev2", "--name", "laptop"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    api = token_client(app, token)
    assert api.get("/api/v1/batches").status_code == 200
    assert api.post("/api/v1/training-runs", json={}).status_code == 403
