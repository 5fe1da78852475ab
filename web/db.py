"""One database session per request, closed when the request ends."""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy.orm import Session

from shared.db.session import make_session


def db() -> Session:
    if "db_session" not in g:
        g.db_session = make_session()
    return g.db_session


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
