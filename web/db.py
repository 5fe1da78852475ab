"""One database session per request, closed when the request ends."""

from __future__ import annotations

from typing import TypeVar

from flask import Flask, g
from flask_smorest import abort
from sqlalchemy.orm import Session

from shared.db.session import make_session

T = TypeVar("T")

# Primary keys are INTEGER columns: a larger id cannot exist, and PostgreSQL rejects it in a
# query ("integer out of range"), which would turn an unknown id into a 500 instead of a 404.
MAX_ID = 2**31 - 1


def db() -> Session:
    if "db_session" not in g:
        g.db_session = make_session()
    return g.db_session


def get_by_id(model: type[T], row_id: int) -> T | None:
    """The row with this primary key, or None (also for ids no INTEGER column can hold)."""
    if not 0 < row_id <= MAX_ID:
        return None
    return db().get(model, row_id)


def get_or_404(model: type[T], row_id: int, what: str) -> T:
    """The row, or a 404 whose message names it (JSON for the API, a page for the UI)."""
    row = get_by_id(model, row_id)
    if row is None:
        abort(404, message=f"{what} {row_id} does not exist")
    return row


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
