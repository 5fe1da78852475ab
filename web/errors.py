"""One place that turns errors into JSON for the API and into pages for the UI."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        message = exc.description
        if exc.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] / 1024 / 1024
            message = (f"the upload is larger than {limit:g} MB; "
                       "send the receipts in several smaller batches")
        if _wants_json():
            body = {"code": exc.code, "status": exc.name, "message": message}
            errors = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
            if errors:
                body["errors"] = errors
            if getattr(exc, "data", {}).get("message"):
                body["message"] = exc.data["message"]  # type: ignore[attr-defined]
            return jsonify(body), exc.code
        return render_template("error.html", code=exc.code, name=exc.name,
                               message=message), exc.code
