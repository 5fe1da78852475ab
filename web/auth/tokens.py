"""API tokens: ``Authorization: Bearer <token>``. A token is 32 random bytes, URL-safe; only its
sha256 is stored (with its first characters, to tell tokens apart), so it is shown once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.models import ApiToken, User, utcnow

PREFIX_CHARS = 8
# last_used_at is a hint for admins; writing it on every request would be a write per read.
TOUCH_EVERY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token row and the token itself (which is not stored: show it now)."""
    name = name.strip()
    if not name or len(name) > 120:
        raise ValueError("a token name is 1 to 120 characters")
    token = secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name, token_hash=hash_token(token),
                   prefix=token[:PREFIX_CHARS])
    session.add(row)
    session.flush()
    return row, token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning this unrevoked token, else None. Notes when it was used."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        row.last_used_at = now
        session.commit()
    return row.user


def revoke(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
