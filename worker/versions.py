"""Keeping a worker's engine on the active model version, checked between batches.

A version that cannot be loaded is marked failed with the reason, and the version the worker
was serving is made active again, so the database says what is really served.
"""

from __future__ import annotations

import logging

from shared.artifacts import unpack
from shared.config import get_settings
from shared.db.models import ModelStatus, ModelVersion
from shared.db.session import session_scope
from shared.engines.base import Engine
from shared.model_versions import activate, active_version
from shared.storage import get_storage
from worker.throttle import PerEngine

log = logging.getLogger(__name__)
_checks = PerEngine()


def sync_version(engine: Engine) -> None:
    if not engine.supports_versions:
        return
    if not _checks.due(engine, get_settings().adapter_check_s):
        return
    with session_scope() as session:
        version = active_version(session, engine.name)
        wanted = version.id if version else None
        if wanted == engine.model_version:
            return
        try:
            folder = None
            if version is not None:
                if not version.artifact_key:
                    raise RuntimeError("the version has no stored artifact")
                folder = unpack(version.artifact_key, get_storage(),
                                get_settings().models_cache_dir)
            engine.use_version(wanted, folder)
        except Exception as exc:
            message = f"could not load model version {wanted}: {exc}"
            log.error("%s; still serving version %s", message, engine.model_version)
            if version is None:  # going back to the base failed: nothing to mark, retry later
                return
            version.status = ModelStatus.FAILED
            version.error = message[:2000]
            previous = (session.get(ModelVersion, engine.model_version)
                        if engine.model_version else None)
            if previous is not None and previous.status == ModelStatus.RETIRED:
                activate(session, previous)
