"""The reconciler's timer: every worker runs one, and one of them acts each round.

Each round (``RECEIPTFLOW_RECONCILE_INTERVAL_S``) a worker tries to take a short lock in Redis
(SET NX with an expiry, so a worker that dies holding it blocks nobody for long); the one that
gets it runs :func:`shared.recovery.reconcile`. It runs in the worker's main process, beside
Celery's consumer, and survives the database and the broker being away: a failed round is
logged and the next one tries again.
"""

from __future__ import annotations

import logging
import threading

import redis

from shared.acceptance import refit_due
from shared.config import get_settings
from shared.db.session import session_scope
from shared.finishing import sweep_batches
from shared.recovery import reconcile
from shared.webhooks.delivery import resend_due

log = logging.getLogger(__name__)

LOCK_KEY = "receiptflow:reconciler"

_stop = threading.Event()
_thread: threading.Thread | None = None


def run_once(name: str) -> bool:
    """One round: True if this worker held the lock and reconciled."""
    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url or "", socket_timeout=5,
                                  socket_connect_timeout=5)
    try:
        # Held for most of an interval: the other workers' timers skip this round.
        expiry_ms = max(1000, int(settings.reconcile_interval_s * 900))
        if not client.set(settings.broker_key_prefix + LOCK_KEY, name, nx=True, px=expiry_ms):
            return False
    finally:
        client.close()
    with session_scope() as session:
        reconcile(session)
    # Each its own step: one failing (a bug, a dropped connection) skips none of the others.
    for step in (sweep_batches, resend_due, refit_due):
        try:
            with session_scope() as session:
                step(session)
        except Exception as exc:
            log.warning("reconciler: %s skipped this round: %s", step.__name__, exc)
    return True


def _loop(name: str) -> None:
    interval = get_settings().reconcile_interval_s
    while True:  # the first round at start: what the last worker left behind
        try:
            run_once(name)
        except Exception as exc:
            log.warning("reconciler round skipped: %s", exc)
        if _stop.wait(interval):
            return


def start(name: str) -> None:
    global _thread
    if _thread is not None:
        return
    _stop.clear()
    _thread = threading.Thread(target=_loop, args=(name,), name="reconciler", daemon=True)
    _thread.start()


def stop() -> None:
    global _thread
    _stop.set()
    _thread = None
