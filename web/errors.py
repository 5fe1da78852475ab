"""One place that turns errors into JSON for the API and into pages for the UI."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


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
