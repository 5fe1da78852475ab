"""One place that turns errors into JSON for the API and into pages for the UI."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, jsonify, render_template, request
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import BadRequest, HTTPException

# How long a client should wait before trying again while a dependency is away.
RETRY_AFTER_S = 30


def _describe(messages: dict[str, Any]) -> str:
    """One line from webargs' validation messages, which are keyed by request location first:
    ``{"json": {"fields": {"total": {"value": ["Not a valid string."]}}}}`` gives
    ``fields.total.value: Not a valid string.``"""
    return "; ".join(line for errors in messages.values() for line in _flatten(errors))


def _flatten(errors: Any, path: tuple[str, ...] = ()) -> list[str]:
    if isinstance(errors, dict):
        # "_schema" holds errors about the whole body, not about one field.
        return [line for key, value in errors.items()
                for line in _flatten(value, path if key == "_schema" else (*path, str(key)))]
    if isinstance(errors, list | tuple):
        return [line for item in errors for line in _flatten(item, path)]
    return [f"{'.'.join(path)}: {errors}" if path else str(errors)]


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _unavailable(what: str):  # type: ignore[no-untyped-def]
    message = (f"the {what} is unreachable right now, so nothing was changed; "
               f"try again in {RETRY_AFTER_S} seconds")
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if _wants_json():
        return jsonify(code=503, status="Service Unavailable", message=message), 503, headers
    return render_template("error.html", code=503, name="Service Unavailable",
                           message=message), 503, headers


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        data = getattr(exc, "data", None) or {}
        # flask-smorest's abort(..., message=...) carries the specific message in `data`.
        message = data.get("message") or exc.description
        if exc.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] / 1024 / 1024
            message = (f"the upload is larger than {limit:g} MB; "
                       "send the receipts in several smaller batches")
        if _wants_json():
            body = {"code": exc.code, "status": exc.name, "message": message}
            errors = data.get("messages")
            if errors:
                body["errors"] = errors
                if not data.get("message"):
                    # Validation errors come with werkzeug's generic description: say what is
                    # wrong instead.
                    body["message"] = f"invalid request: {_describe(errors)}"
            return jsonify(body), exc.code
        return render_template("error.html", code=exc.code, name=exc.name,
                               message=message), exc.code

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):  # type: ignore[no-untyped-def]
        session = g.pop("db_session", None)
        if session is not None:
            session.close()  # its connection is dead: the next request takes a fresh one
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            app.logger.warning("database unreachable: %s", exc)
            return _unavailable("database")
        if isinstance(exc, DataError):
            # A value the database cannot store slipped past validation (e.g. a NUL).
            app.logger.warning("refused value: %s", exc)
            return _http_error(BadRequest(
                "the request holds a value that cannot be stored (e.g. a NUL character or a "
                "number out of range); send plain text and numbers in range"))
        raise exc

    @app.errorhandler(BrokerError)
    def _broker_error(exc: BrokerError):  # type: ignore[no-untyped-def]
        app.logger.warning("broker unreachable: %s", exc)
        return _unavailable("queue (Redis)")
