"""The Celery application as both sides see it: broker, queues, reliability settings.

The web process uses it only to send tasks by name; ``worker`` registers the task bodies on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import redis
from celery import Celery
from kombu import Queue
from kombu.transport.redis import PRIORITY_STEPS, Channel

from shared.config import Settings, get_settings
from shared.queues import ENGINE_QUEUES, TRAINING_QUEUE

_app: Celery | None = None


def make_celery(settings: Settings) -> Celery:
    if not settings.redis_url:
        raise RuntimeError(
            "no broker configured: set REDIS_URL (or use `receiptflow up`, which starts one)"
        )
    app = Celery("receiptflow", broker=settings.redis_url)
    queues = [*ENGINE_QUEUES.values(), TRAINING_QUEUE]
    app.conf.update(
        task_queues=[Queue(name) for name in queues],
        task_default_queue=ENGINE_QUEUES[settings.engine],
        # At-least-once: ack only after the result is written; a task whose worker process
        # dies goes back to the queue. Writes are idempotent, so a redelivery is harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A whole worker killed with SIGKILL cannot requeue what it held; Redis gives unacked
        # messages back after this long.
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            # kombu looks for unacked messages past the timeout only every 10th tick of 10 s
            # by default, so a lost task came back ~100 s late: look on every tick, and tick
            # often enough for short timeouts.
            "unacked_restore_interval": max(1.0, min(10.0, settings.visibility_timeout_s / 5)),
            "unacked_restore_throttle": 1,
            # The lock around that scan outlives a worker killed while holding it.
            "unacked_mutex_expire": 60,
            **({"global_keyprefix": settings.broker_key_prefix}
               if settings.broker_key_prefix else {}),
        },
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
    )
    return app


def celery_app() -> Celery:
    """The process-wide app, built from settings on first use."""
    global _app
    if _app is None:
        _app = make_celery(get_settings())
    return _app


def reset_celery_app() -> None:
    global _app
    _app = None


def held_jobs(queues: Iterable[str], settings: Settings | None = None) -> set[str]:
    """Task ids of every message the broker holds for these queues: waiting in a queue, or
    delivered to a worker and not yet acknowledged (kombu's Redis transport keeps those in its
    ``unacked`` hash until the ack, and puts them back after the visibility timeout).

    One MULTI/EXEC snapshot, so a message moving between a queue and the hash is seen once.
    Raises redis' errors when the broker is unreachable: the caller must then assume nothing.
    """
    settings = settings or get_settings()
    prefix = settings.broker_key_prefix
    client = redis.Redis.from_url(settings.redis_url or "", socket_timeout=10,
                                  socket_connect_timeout=5)
    try:
        pipe = client.pipeline(transaction=True)
        for queue in queues:
            for key in _queue_keys(prefix, queue):
                pipe.lrange(key, 0, -1)
        pipe.hvals(prefix + Channel.unacked_key)
        *lists, unacked = pipe.execute()
    finally:
        client.close()
    ids = {_task_id(raw) for lst in lists for raw in lst}
    ids |= {_task_id(raw, unacked=True) for raw in unacked}
    ids.discard(None)
    return ids  # type: ignore[return-value]


def _task_id(raw: bytes, unacked: bool = False) -> str | None:
    """The Celery task id in a stored message (an unacked entry is [message, exchange, key])."""
    try:
        message = json.loads(raw)
        return str((message[0] if unacked else message)["headers"]["id"])
    except (ValueError, LookupError, TypeError):
        return None


def queue_depths(queues: Iterable[str], settings: Settings | None = None) -> dict[str, int]:
    """Messages waiting in each queue (every priority step's list), one round trip. Raises
    redis' errors when the broker is unreachable."""
    settings = settings or get_settings()
    prefix = settings.broker_key_prefix
    client = redis.Redis.from_url(settings.redis_url or "", socket_timeout=5,
                                  socket_connect_timeout=3)
    names = list(queues)
    try:
        pipe = client.pipeline(transaction=False)
        for queue in names:
            for key in _queue_keys(prefix, queue):
                pipe.llen(key)
        lengths = pipe.execute()
    finally:
        client.close()
    steps = len(PRIORITY_STEPS)
    return {q: int(sum(lengths[i * steps:(i + 1) * steps])) for i, q in enumerate(names)}


def _queue_keys(prefix: str, queue: str) -> list[str]:
    """A queue's Redis lists: kombu keeps one per priority step."""
    return [prefix + (f"{queue}{Channel.sep}{pri}" if pri else queue) for pri in PRIORITY_STEPS]
