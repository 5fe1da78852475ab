"""Every route of the app against web/auth/policy.py: each has an entry, and each answers
anonymous users, reviewers and admins (by session and by API token) as its entry says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import token_client
from werkzeug.routing import IntegerConverter, Rule

from shared.db.models import Batch, Receipt, ReceiptStatus, TrainingRun
from shared.db.session import session_scope
from web.auth.policy import ADMIN, POLICY, PUBLIC, REVIEWER

Accounts = dict[str, dict[str, str]]
UNKNOWN = 999
CSRF_ERROR = re.compile(r"The CSRF (session )?token")  # Flask-WTF's messages
# Bodies that are invalid on purpose where a valid empty request would act (queue a training
# run): what is tested here is the gate in front of the view, not the view.
INVALID_BODIES: dict[str, dict[str, Any]] = {
    "api.start_training": {"json": {"not_a_field": 1}},
    "pages.training_runs": {"data": {"epochs": "not-a-number"}},
}


def test_every_endpoint_has_a_policy(app: Flask) -> None:
    missing = sorted({r.endpoint for r in app.url_map.iter_rules()} - POLICY.keys())
    assert not missing, f"add these endpoints to web/auth/policy.py: {missing}"


def test_the_policy_names_no_endpoint_that_is_gone(app: Flask) -> None:
    stale = sorted(POLICY.keys() - {r.endpoint for r in app.url_map.iter_rules()})
    assert not stale, f"remove these from web/auth/policy.py: {stale}"


def test_an_endpoint_missing_from_the_policy_is_denied(services: dict[str, str],
                                                       accounts: Accounts) -> None:
    from web import create_app

    app = create_app({"TESTING": True})
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    resp = token_client(app, accounts["admin"]["token"]).get("/forgotten")
    assert resp.status_code == 403
    assert "forgotten has no access policy" in resp.get_data(as_text=True)


@pytest.fixture(scope="module")
def existing_ids(services: dict[str, str]) -> dict[str, int]:
    from shared.config import get_settings

    with session_scope() as session:
        batch = Batch(name="authz", engine="ocr",
                      fields=[f.model_dump() for f in get_settings().fields])
        receipt = Receipt(batch=batch, original_name="r.jpg", status=ReceiptStatus.FAILED,
                          error="no image")
        run = TrainingRun(engine="ocr", requested_by="tests")
        session.add_all([batch, receipt, run])
        session.flush()
        return {"batch_id": batch.id, "receipt_id": receipt.id, "run_id": run.id}


def requests_to_make(app: Flask, ids: dict[str, int]) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule and method; path values are rows that exist for
    GETs and 999 otherwise, so no POST acts on real data. Log-out comes last."""
    adapter = app.url_map.bind("localhost")
    rules: list[Rule] = sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint == "auth.logout")
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            values = {}
            for name in rule.arguments:
                is_int = isinstance(rule._converters[name], IntegerConverter)
                values[name] = (ids.get(name, UNKNOWN) if method == "GET" else UNKNOWN) \
                    if is_int else str(UNKNOWN)
            yield rule.endpoint, method, adapter.build(rule.endpoint, values, method=method)


def responses(app: Flask, client: FlaskClient, ids: dict[str, int],
              csrf: str | None = None) -> Iterator[tuple[str, str, str, Any]]:
    headers = {"X-CSRFToken": csrf} if csrf else {}
    for endpoint, method, url in requests_to_make(app, ids):
        kwargs = INVALID_BODIES.get(endpoint, {}) if method != "GET" else {}
        resp = client.open(url, method=method, headers=headers, **kwargs)
        yield endpoint, method, url, resp


def session_client(app: Flask, account: dict[str, str]) -> tuple[FlaskClient, str]:
    """A client logged in through the log-in form, and its CSRF token."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)[1]  # type: ignore[index]
    resp = client.post("/login", data={"username": account["username"], "csrf_token": csrf,
                                       "password": account["password"]})
    assert resp.status_code == 302, "log-in failed"
    return client, csrf


def test_anonymous_requests(app: Flask, anon_client: FlaskClient,
                            existing_ids: dict[str, int]) -> None:
    wrong = []
    for endpoint, method, url, resp in responses(app, anon_client, existing_ids):
        location = resp.headers.get("Location", "")
        if POLICY[endpoint] == PUBLIC:
            ok = resp.status_code not in (401, 403) and "/login" not in location
            if endpoint == "auth.login":
                ok = resp.status_code in (200, 400)  # 400: the POST carried no CSRF token
            if endpoint == "metrics.metrics":
                ok = resp.status_code == 401  # its own check: the scrape token or an admin
        elif url.startswith("/api/"):
            ok = (resp.status_code == 401
                  and resp.headers.get("WWW-Authenticate", "").startswith("Bearer"))
        else:
            ok = resp.status_code == 302 and location.startswith("/login?next=")
        if not ok:
            wrong.append(f"{method} {url} ({endpoint}): {resp.status_code} {location}")
    assert not wrong, "anonymous requests answered wrongly:\n" + "\n".join(wrong)


def _check_role(app: Flask, client: FlaskClient, role: str, ids: dict[str, int],
                csrf: str | None = None) -> None:
    wrong = []
    for endpoint, method, url, resp in responses(app, client, ids, csrf):
        needed = POLICY[endpoint]
        location = resp.headers.get("Location", "")
        refused = resp.status_code in (401, 403) or location.startswith("/login")
        if endpoint == "auth.logout":
            refused = resp.status_code != 302  # it sends everyone to the log-in page
        if endpoint == "auth.login" and method == "POST" and csrf is None:
            continue  # the log-in form is for browsers: a token client has no CSRF token
        if role == REVIEWER and needed == ADMIN:
            ok = resp.status_code == 403
        elif endpoint == "metrics.metrics":  # the scrape token or an admin
            ok = resp.status_code == (200 if role == ADMIN else 401)
        else:
            # Reached the view: anything but a refusal (or a CSRF failure, which would mean the
            # session requests were not testing the view at all).
            csrf_failed = resp.status_code == 400 and bool(CSRF_ERROR.search(resp.get_data(True)))
            ok = not refused and not csrf_failed
        if not ok:
            wrong.append(f"{method} {url} ({endpoint}, {needed}): {resp.status_code} {location}")
    assert not wrong, f"requests as {role} answered wrongly:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", [REVIEWER, ADMIN])
def test_token_requests(app: Flask, accounts: Accounts, existing_ids: dict[str, int],
                        role: str) -> None:
    _check_role(app, token_client(app, accounts[role]["token"]), role, existing_ids)


@pytest.mark.parametrize("role", [REVIEWER, ADMIN])
def test_session_requests(app: Flask, accounts: Accounts, existing_ids: dict[str, int],
                          role: str) -> None:
    client, csrf = session_client(app, accounts[role])
    _check_role(app, client, role, existing_ids, csrf)
