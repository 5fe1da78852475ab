"""Training runs and model versions: start a run, watch it, promote or roll back."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import select

from shared.config import get_settings
from shared.db.models import ModelVersion, RunStatus, TrainingRun, utcnow
from shared.engines import ENGINE_NAMES
from shared.model_versions import activate, deactivate_all
from shared.training_runs import create_run, enqueue_run
from web.api import blp
from web.api.schemas import ModelVersionSchema, TrainingRunInSchema, TrainingRunSchema
from web.db import db, get_or_404


def queue_training_run(engine: str | None, params: dict, receipt_ids: list[int],
                       auto_promote: bool, requested_by: str) -> TrainingRun:
    """Shared by the API and the training page: commit the run, then queue it."""
    engine = engine or get_settings().engine
    if engine not in ENGINE_NAMES:
        abort(422, message=f"unknown engine {engine!r}; choose one of {sorted(ENGINE_NAMES)}")
    run = create_run(db(), engine, {**params, "auto_promote": auto_promote}, requested_by,
                     receipt_ids)
    db().commit()
    try:
        enqueue_run(run.id)
    except Exception:
        # The broker is away: say so on the run (nothing will pick it up) and answer 503.
        run.status, run.finished_at = RunStatus.FAILED, utcnow()
        run.error = "the queue (Redis) was unreachable when the run was started; start it again"
        db().commit()
        raise
    return run


@blp.route("/training-runs", methods=["POST"])
@blp.arguments(TrainingRunInSchema)
@blp.response(202, TrainingRunSchema)
def start_training(body: dict) -> TrainingRun:
    """Queue a training run on the reviewed receipts (all, or `receipt_ids`)."""
    return queue_training_run(body["engine"], body["params"], body["receipt_ids"],
                              body["auto_promote"], current_user.username)


@blp.route("/training-runs", methods=["GET"])
@blp.response(200, TrainingRunSchema(many=True))
def list_training_runs() -> list[TrainingRun]:
    return list(db().scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(100)))


@blp.route("/training-runs/<int:run_id>", methods=["GET"])
@blp.response(200, TrainingRunSchema)
def show_training_run(run_id: int) -> TrainingRun:
    """Progress, loss log, and (when done) the held-out scores of current vs candidate."""
    return get_or_404(TrainingRun, run_id, "training run")


@blp.route("/model-versions", methods=["GET"])
@blp.response(200, ModelVersionSchema(many=True))
def list_model_versions() -> list[ModelVersion]:
    return list(db().scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


@blp.route("/model-versions/<int:version_id>/activate", methods=["POST"])
@blp.response(200, ModelVersionSchema)
def activate_version(version_id: int) -> ModelVersion:
    """Promote (or roll back to) this version; workers switch to it between batches."""
    version = get_or_404(ModelVersion, version_id, "model version")
    try:
        activate(db(), version)
    except ValueError as exc:
        abort(409, message=str(exc))
    db().commit()
    return version


@blp.route("/model-versions/deactivate/<engine>", methods=["POST"])
@blp.response(204)
def serve_base(engine: str) -> None:
    """Serve the engine's untrained base model again."""
    deactivate_all(db(), engine)
    db().commit()
