"""Users: create, check a password, change role, password or active flag. Used by the admin
pages, the log-in page and the CLI; the caller commits."""

from __future__ import annotations

import secrets
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from shared.db.models import Role, User

MIN_PASSWORD = 8


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why."""


def normalize(username: str) -> str:
    return username.strip().lower()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    return generate_password_hash(password, method="scrypt")


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-password", method="scrypt")


def find(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == normalize(username)))


def create_user(session: Session, username: str, password: str,
                role: Role | str = Role.REVIEWER) -> User:
    name = normalize(username)
    if not name or len(name) > 80 or any(c.isspace() for c in name):
        raise AccountError("a username is 1 to 80 characters without spaces")
    if find(session, name) is not None:
        raise AccountError(f"user {name!r} already exists")
    user = User(username=name, password_hash=hash_password(password), role=Role(role),
                active=True)
    session.add(user)
    session.flush()
    return user


def ensure_first_admin(session: Session, username: str = "admin") -> str | None:
    """On an empty installation, create an admin with a random password and return it (so
    `receiptflow up` alone gives a usable product); None when users exist already."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    password = secrets.token_urlsafe(12)
    create_user(session, username, password, Role.ADMIN)
    return password


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else None."""
    user = find(session, username)
    # Hash even for an unknown name, so response time does not tell which names exist.
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    return user if ok and user is not None and user.active else None


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)
                          .where(User.role == Role.ADMIN, User.active.is_(True))) or 0
