"""The Flask front end: JSON API, OpenAPI document and HTML pages.

It never imports an engine or torch: receipts go to workers as tasks sent by name.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from shared.config import get_settings


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    settings = get_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=int(settings.max_request_mb * 1024 * 1024),
        # Werkzeug refuses more than 1000 multipart parts by default; a full batch needs more.
        MAX_FORM_PARTS=settings.max_batch_files + 16,
        API_TITLE="ReceiptFlow",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    app.config.update(overrides or {})

    from web import auth, db, errors, pages
    from web.api import blp as api_blp

    db.init_app(app)
    auth.init_app(app)  # first: its hook runs before any other
    api = Api(app)
    api.register_blueprint(api_blp)
    pages.init_app(app)
    errors.init_app(app)
    return app
