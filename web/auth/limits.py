"""Rate limits on log-in (Flask-Limiter, counters in Redis so every web process shares them).

Two limits on ``POST /login``: failed attempts per account (a password guesser gets a 429 even
when it finally guesses right) and attempts per client address. While Redis is away the counters
live in each process's memory, so log-in keeps working and stays limited.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from shared.config import get_settings
from web.auth.users import normalize

limiter = Limiter(key_func=get_remote_address)

RETRY_MESSAGE = "too many log-in attempts: wait a few minutes, then try again"


def _account() -> str:
    return "account:" + normalize(request.form.get("username", ""))[:80]


def _failed(response: Response) -> bool:
    # A good log-in redirects; a refused one shows the form again.
    return response.status_code != 302


# Limit strings come from the app's config (set from the settings in init_app), read per request.
per_account = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
                            key_func=_account, methods=["POST"], deduct_when=_failed,
                            error_message=RETRY_MESSAGE)
per_address = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
                            methods=["POST"], error_message=RETRY_MESSAGE)


def init_app(app: Flask) -> None:
    settings = get_settings()
    app.config.setdefault("LOGIN_LIMIT_PER_ACCOUNT", settings.login_limit_per_account)
    app.config.setdefault("LOGIN_LIMIT_PER_ADDRESS", settings.login_limit_per_address)
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"{settings.broker_key_prefix}receiptflow-limits")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1,
                                                         "socket_timeout": 1})
    limiter.init_app(app)
