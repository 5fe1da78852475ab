"""One engine instance per (engine, field list) per worker process, built on first use."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

from shared.engines import build_engine
from shared.engines.base import Engine
from shared.fields import FieldSpec

_engines: dict[tuple[str, str], Engine] = {}
_lock = threading.Lock()


def engine_for(name: str, fields: Sequence[FieldSpec]) -> Engine:
    key = (name, json.dumps([f.model_dump() for f in fields], sort_keys=True))
    with _lock:
        if key not in _engines:
            _engines[key] = build_engine(name, fields)
        return _engines[key]
