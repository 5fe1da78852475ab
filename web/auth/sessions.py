"""Log-in sessions held on the server.

Flask's session is a signed cookie: by itself, a copy saved before log-out would still work. So
the cookie also carries a random session id, and a ``login_sessions`` row says whether that id is
still good: log-out ends it, and it ends by itself after ``RECEIPTFLOW_SESSION_IDLE_MINUTES``
without a request or ``RECEIPTFLOW_SESSION_MAX_HOURS`` after log-in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import request, session
from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.config import get_settings
from shared.db.models import LoginSession, User, utcnow

KEY = "sid"
# last_seen_at is written at most this often: not a write on every page view.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def begin(db: Session, user: User) -> None:
    """A new server-side session for ``user``, its id in the cookie (the caller commits)."""
    sid = secrets.token_urlsafe(32)
    db.add(LoginSession(id=_digest(sid), user_id=user.id, address=request.remote_addr or ""))
    session[KEY] = sid  # replaces any id from before: a session is never carried over


def valid(db: Session, user: User) -> bool:
    """Whether the cookie's session is one of this user's, not ended, idle or too old."""
    sid = session.get(KEY)
    if not isinstance(sid, str):
        return False
    row = db.get(LoginSession, _digest(sid))
    if row is None or row.user_id != user.id or row.ended_at is not None:
        return False
    settings, now = get_settings(), utcnow()
    if (now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
            or now - row.created_at > timedelta(hours=settings.session_max_hours)):
        row.ended_at = now
        db.commit()
        return False
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()
    return True


def end(db: Session) -> None:
    """End the cookie's session on the server (log-out)."""
    sid = session.get(KEY)
    if isinstance(sid, str):
        db.execute(update(LoginSession).where(LoginSession.id == _digest(sid),
                                              LoginSession.ended_at.is_(None))
                   .values(ended_at=utcnow()))
        db.commit()
    session.clear()
