"""How often a worker does a between-batches check per engine (a new version, new reviews)."""

from __future__ import annotations

import time
import weakref

from shared.engines.base import Engine


class PerEngine:
    """When each engine last did the check, keyed weakly: an engine gone takes its time with it
    (an ``id`` could be reused)."""

    def __init__(self) -> None:
        self._last: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()

    def due(self, engine: Engine, every: float) -> bool:
        """Whether ``every`` seconds have passed since the engine's last check (0: always);
        if so, this is its check."""
        now = time.monotonic()
        if now - self._last.get(engine, -1e9) < every:
            return False
        self._last[engine] = now
        return True
