"""Which trained version each engine serves: promote, roll back, look up."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.models import ModelStatus, ModelVersion, utcnow
from shared.webhooks import events


def active_version(session: Session, engine: str) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion)
        .where(ModelVersion.engine == engine, ModelVersion.status == ModelStatus.ACTIVE)
        .order_by(ModelVersion.activated_at.desc())
    )


def activate(session: Session, version: ModelVersion) -> None:
    """Make ``version`` the one its engine serves; the previous active one is retired.

    Workers notice between batches (``worker/versions.py``) and switch without a restart.
    """
    if version.status == ModelStatus.FAILED:
        raise ValueError(f"model version {version.id} failed and cannot be served: {version.error}")
    for other in session.scalars(
        select(ModelVersion).where(ModelVersion.engine == version.engine,
                                   ModelVersion.status == ModelStatus.ACTIVE)
    ):
        if other.id != version.id:
            other.status = ModelStatus.RETIRED
    version.status = ModelStatus.ACTIVE
    version.activated_at = utcnow()
    events.emit(session, events.MODEL_VERSION_PROMOTED, {"model_version": {
        "id": version.id, "engine": version.engine, "name": version.name,
        "base_model": version.base_model, "metrics": version.metrics,
        "activated_at": version.activated_at.isoformat()}})


def deactivate_all(session: Session, engine: str) -> None:
    """Serve the plain base model again."""
    for version in session.scalars(
        select(ModelVersion).where(ModelVersion.engine == engine,
                                   ModelVersion.status == ModelStatus.ACTIVE)
    ):
        version.status = ModelStatus.RETIRED
