"""A workaround for a fault of the broker client (kombu 5.7.0's Redis transport, the newest).

When the worker's broker connection is torn down after Redis went away, kombu clears the
transport's ``client`` while channels of the old connection are still in use; the next of them to
open a Redis connection (a timer restoring unacked messages, an ack from a task thread) fails in
``Channel._connparams`` with ``AttributeError: 'NoneType' object has no attribute 'hostname'``.
That is not one of the transport's connection errors, so Celery stops the worker for good
("Unrecoverable error"). Raised as a connection error instead, it takes Celery's reconnect path,
the same as any lost connection.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

_original = kombu_redis.Channel._connparams


def _connparams(self: Any, asynchronous: bool = False) -> Any:
    if self.connection is None or self.connection.client is None:
        raise RedisConnectionError("the broker connection was closed; reconnecting")
    return _original(self, asynchronous)


def apply() -> None:
    kombu_redis.Channel._connparams = _connparams  # type: ignore[method-assign]
