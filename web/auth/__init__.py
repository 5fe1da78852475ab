"""Accounts and access: log-in sessions (Flask-Login), API tokens, CSRF (Flask-WTF), and the one
hook that applies ``web.auth.policy`` to every request.

How a request is authenticated:
- ``Authorization: Bearer <token>``: by that token alone (the session cookie is then ignored).
  No CSRF check: a browser never adds this header by itself, so another site cannot forge it.
- otherwise by the session cookie set at log-in. Every POST/PUT/PATCH/DELETE then needs the CSRF
  token: the ``csrf_token`` form field, or the ``X-CSRFToken`` header for JavaScript (the token is
  in base.html's ``<meta name="csrf-token">``).
"""

from __future__ import annotations

from flask import Flask, abort, current_app, g, jsonify, redirect, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

from shared.config import get_settings
from shared.db.models import User
from web.auth import limits, policy, sessions, tokens
from web.db import db, get_by_id

login_manager = LoginManager()
csrf = CSRFProtect()


def bearer_token() -> str | None:
    auth = request.authorization
    if auth is not None and auth.type == "bearer":
        return auth.token or ""
    return None


@login_manager.user_loader
def _load_from_session(session_id: str) -> User | None:
    if bearer_token() is not None:
        return None  # a request with a token is authenticated by the token alone
    user_id, _, _stamp = session_id.partition(":")
    user = get_by_id(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or user.get_id() != session_id:
        return None
    # The cookie alone is not enough: its server-side session must still be open.
    return user if sessions.valid(db(), user) else None


@login_manager.request_loader
def _load_from_token(_request: object) -> User | None:
    token = bearer_token()
    user = tokens.user_for_token(db(), token) if token else None
    g.token_auth = user is not None
    return user


def _unauthenticated() -> Response | tuple[Response, int, dict[str, str]]:
    if request.path.startswith("/api/") or bearer_token() is not None:
        header = 'Bearer realm="receiptflow"'
        message = "log in, or send an API token as 'Authorization: Bearer <token>'"
        if bearer_token() is not None:
            header += ', error="invalid_token"'
            message = "the API token is unknown, revoked, or its user is deactivated"
        body = jsonify(code=401, status="Unauthorized", message=message)
        return body, 401, {"WWW-Authenticate": header}
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def _enforce_policy() -> Response | tuple[Response, int, dict[str, str]] | None:
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route matched: the 404/405 handler answers
    needed = policy.required_role(endpoint)
    if needed is None:
        current_app.logger.error("endpoint %s has no entry in web/auth/policy.py", endpoint)
        abort(403, f"{endpoint} has no access policy")
    if needed != policy.PUBLIC:
        if not current_user.is_authenticated:
            return _unauthenticated()
        if not policy.allows(current_user.role, needed):
            abort(403, f"this needs the {needed} role")
    if not g.get("token_auth"):
        csrf.protect()
    return None


def init_app(app: Flask) -> None:
    settings = get_settings()
    app.config.update(
        SESSION_COOKIE_SECURE=settings.cookie_secure and not (app.testing or app.debug),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    # The hook below calls csrf.protect() itself, after authentication, skipping token requests.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # A token lives as long as the session: a review page left open over lunch still saves.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    login_manager.init_app(app)
    csrf.init_app(app)
    limits.init_app(app)
    app.before_request(_enforce_policy)

    from web.auth.views import bp

    app.register_blueprint(bp)
