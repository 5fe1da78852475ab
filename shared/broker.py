"""The Celery application as both sides see it: broker, queues, reliability settings.

The web process uses it only to send tasks by name; ``worker`` registers the task bodies on it.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

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
