"""Log-in and log-out, and the admin pages for users and API tokens. Access is decided by
web/auth/policy.py, not here."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from shared.db.models import ApiToken, AuditEvent, Role, User
from web.auth import limits, sessions, tokens, users
from web.db import db, get_or_404

bp = Blueprint("auth", __name__)


def local_url(target: str | None) -> str:
    """Only a path on this site (no open redirect), judged as a browser will read it: browsers
    drop tabs and line breaks inside a URL and take a backslash for a slash, so "/", a tab,
    "/evil.example" means "//evil.example", another host. Anything doubtful: the start page."""
    if (not target or "\\" in target or not target.isprintable()
            or not target.startswith("/") or target.startswith("//")):
        return url_for("pages.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("pages.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limits.per_address
@limits.per_account
def login() -> str | Response:
    next_url = request.values.get("next", "")
    if request.method == "POST":
        user = users.authenticate(db(), request.form.get("username", ""),
                                  request.form.get("password", ""))
        if user is not None:
            sessions.begin(db(), user)
            db().commit()
            login_user(user)
            return redirect(local_url(next_url))
        # The same answer for an unknown name, a wrong password and a deactivated user.
        return render_template("auth/login.html", next=local_url(next_url),
                               error="wrong username or password")
    return render_template("auth/login.html", next=local_url(next_url), error=None)


@bp.post("/logout")
def logout() -> Response:
    sessions.end(db())
    logout_user()
    return redirect(url_for("auth.login"))


# --- users (admin) -----------------------------------------------------------------------------

def _users_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    rows = db().scalars(select(User).order_by(User.username)).all()
    return render_template("auth/users.html", users=rows, roles=[r.value for r in Role],
                           error=error), status


@bp.get("/admin/users", endpoint="users")
def users_page() -> tuple[str, int]:
    return _users_page()



@bp.post("/admin/users")
def create_user() -> Response | tuple[str, int]:
    form = request.form
    try:
        users.create_user(db(), form.get("username", ""), form.get("password", ""),
                          form.get("role", Role.REVIEWER))
    except ValueError as exc:
        db().rollback()
        return _users_page(str(exc), 400)
    db().commit()
    return redirect(url_for("auth.users"))


@bp.post("/admin/users/<int:user_id>")
def update_user(user_id: int) -> Response | tuple[str, int]:
    """One of: a new `role`, `active` (1 or 0), or a new `password`."""
    user = get_or_404(User, user_id, "user")
    form = request.form
    myself = user.id == current_user.id
    try:
        if "role" in form:
            role = Role(form["role"])
            if myself and role != Role.ADMIN:
                raise ValueError("you cannot take the admin role from yourself")
            user.role = role
        if "active" in form:
            if myself and form["active"] != "1":
                raise ValueError("you cannot deactivate yourself")
            user.active = form["active"] == "1"
        if form.get("password"):
            user.password_hash = users.hash_password(form["password"])
    except ValueError as exc:
        db().rollback()
        return _users_page(str(exc), 400)
    db().commit()
    if myself:
        login_user(user)  # a new password ends old sessions, this one included: renew it
    return redirect(url_for("auth.users"))


# --- API tokens (admin) ------------------------------------------------------------------------

def _tokens_page(new_token: str | None = None, error: str | None = None,
                 status: int = 200) -> tuple[str, int, dict[str, str]]:
    rows = db().scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
    people = db().scalars(select(User).where(User.active.is_(True))
                          .order_by(User.username)).all()
    page = render_template("auth/tokens.html", tokens=rows, users=people, new_token=new_token,
                           error=error)
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/admin/tokens", endpoint="tokens")
def tokens_page() -> tuple[str, int, dict[str, str]]:
    return _tokens_page()



@bp.post("/admin/tokens")
def create_token() -> tuple[str, int, dict[str, str]]:
    owner = users.find(db(), request.form.get("username", ""))
    if owner is None or not owner.active:
        return _tokens_page(error="choose an active user", status=400)
    try:
        _row, token = tokens.create_token(db(), owner, request.form.get("name", ""))
    except ValueError as exc:
        db().rollback()
        return _tokens_page(error=str(exc), status=400)
    db().commit()
    return _tokens_page(new_token=token, status=201)


@bp.post("/admin/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Response:
    row = get_or_404(ApiToken, token_id, "API token")
    tokens.revoke(row)
    db().commit()
    return redirect(url_for("auth.tokens"))


# --- audit log (admin) -------------------------------------------------------------------------

@bp.get("/admin/audit", endpoint="audit")
def audit_page() -> str:
    events = db().scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(500)).all()
    return render_template("auth/audit.html", events=events)
