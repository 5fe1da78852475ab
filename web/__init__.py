"""The Flask front end: JSON API, OpenAPI document and HTML pages.

It never imports an engine or torch: receipts go to workers as tasks sent by name.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask
from flask_smorest import Api

from shared.config import ConfigError, Settings, get_settings

# Values published in examples and older versions of this project: never a real key.
KNOWN_KEYS = {"dev-only-change-me", "change-me-in-production", "change-me", "secret"}


def secret_key(settings: Settings, testing: bool) -> str:
    """The session key, refused when it is missing, short or a published example (anyone could
    forge a log-in cookie with it), unless development mode says a throwaway key will do."""
    key = settings.secret_key or ""
    if len(key) >= 16 and key not in KNOWN_KEYS:
        return key
    if settings.development or testing:
        logging.getLogger(__name__).warning(
            "RECEIPTFLOW_SECRET_KEY is not set: using a random key (development mode); "
            "log-ins end when this process stops")
        return secrets.token_hex(32)
    raise ConfigError(
        "RECEIPTFLOW_SECRET_KEY is " + ("not set" if not key else "too weak (a published example "
                                        "or under 16 characters)")
        + ": set it to a long random value, e.g. the output of "
          "`python -c 'import secrets; print(secrets.token_hex(32))'`, the same for every web "
          "process (or RECEIPTFLOW_DEVELOPMENT=true on a development machine)")


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    settings = get_settings()
    overrides = overrides or {}
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key(settings, bool(overrides.get("TESTING"))),
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
    app.config.update(overrides)

    from web import auth, db, errors, input_checks, metrics, pages, security_headers
    from web.api import blp as api_blp

    db.init_app(app)
    auth.init_app(app)  # first: its hook runs before any other
    input_checks.init_app(app)
    api = Api(app)
    api.register_blueprint(api_blp)
    pages.init_app(app)
    metrics.init_app(app)
    errors.init_app(app)
    security_headers.init_app(app)
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client address (rate limits, audit log) from the proxies' X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies)
    return app
