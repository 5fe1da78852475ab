"""The kombu workaround (worker/broker_fixes.py): a channel of a connection that was closed
after Redis went away raises a connection error, which Celery recovers from by reconnecting,
instead of an AttributeError, which stopped the worker for good."""

from __future__ import annotations

import pytest
from kombu import Connection
from redis.exceptions import ConnectionError as RedisConnectionError

from worker import broker_fixes


def test_a_closed_connections_channel_raises_a_connection_error(services: dict[str, str]) -> None:
    connection = Connection(services["REDIS_URL"])
    channel = connection.default_channel
    assert channel.client.ping()
    connection._close()  # what kombu does to the old connection when Redis went away
    broker_fixes.apply()
    with pytest.raises(RedisConnectionError, match="reconnecting"):
        channel._connparams()
    assert RedisConnectionError in connection.transport.connection_errors
