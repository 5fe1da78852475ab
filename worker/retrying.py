"""When a task tries again: which errors are transient, and how long to wait."""

from __future__ import annotations

import random

from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, OperationalError

from shared.config import get_settings

# Errors worth another try: the database or the broker blinked.
TRANSIENT = (OperationalError, ConnectionError, TimeoutError, BrokerError, RedisConnectionError)


def transient(exc: BaseException) -> bool:
    # psycopg reports a server that went away mid-transaction as an InterfaceError, which
    # SQLAlchemy flags as a lost connection.
    return isinstance(exc, TRANSIENT) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


def backoff(attempt: int) -> float:
    """Seconds before the next try: 1, 2, 4, ... capped at 5 minutes (and at half the
    visibility timeout: a held retry past it would be handed out a second time), jittered so
    the tasks of one outage do not all come back in the same second."""
    cap = min(300.0, get_settings().visibility_timeout_s / 2)
    return min(2.0 ** attempt, cap) * random.uniform(0.8, 1.2)
