"""Training (admin): start a run, watch its progress and loss, compare the held-out scores of
the serving model and the candidate, promote or roll back model versions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from shared.calibration import Calibration
from shared.config import get_settings
from shared.db.models import CalibrationFit, Correction, ModelVersion, TrainingRun
from shared.engines import ENGINE_NAMES
from shared.model_versions import activate, deactivate_all
from web import plots
from web.api.training import queue_training_run
from web.auth.views import local_url
from web.db import db, get_or_404
from web.pages import bp


def _float(name: str, default: float) -> float:
    try:
        return float(request.form.get(name, default))
    except ValueError:
        abort(400, f"{name} must be a number")


@bp.route("/training", methods=["GET", "POST"])
def training_runs() -> str | Response:
    if request.method == "POST":
        params = {"epochs": _float("epochs", 3), "learning_rate": _float("learning_rate", 2e-4),
                  "held_out": _float("held_out", 0.2)}
        if request.form.get("precision"):
            params["precision"] = request.form["precision"]
        run = queue_training_run(request.form.get("engine"), params, [],
                                 request.form.get("auto_promote") == "on",
                                 current_user.username)
        return redirect(url_for("pages.training_run", run_id=run.id))
    runs = db().scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(50)).all()
    versions = db().scalars(select(ModelVersion).order_by(ModelVersion.id.desc())).all()
    n_reviewed = db().scalar(select(func.count(func.distinct(Correction.receipt_id))))
    return render_template("training.html", runs=runs, versions=versions,
                           engines=sorted(ENGINE_NAMES), default_engine=get_settings().engine,
                           n_reviewed=n_reviewed, calibrations=_calibrations(),
                           target_error=get_settings().auto_accept_target_error)


def _calibrations() -> list[tuple[str, list[dict]]]:
    """Each scope's fitted fields with their reliability diagrams, newest scope first."""
    scopes: dict[str, list[dict]] = {}
    for row in db().scalars(select(CalibrationFit).order_by(CalibrationFit.scope,
                                                            CalibrationFit.field)):
        cal = Calibration.from_json(row.data)
        scopes.setdefault(row.scope, []).append({
            "cal": cal, "source": row.source, "fitted_at": row.fitted_at,
            "diagram": plots.reliability(f"{row.scope} {row.field}: reliability",
                                         cal.reliability)})
    return sorted(scopes.items(), key=lambda kv: max(f["fitted_at"] for f in kv[1]),
                  reverse=True)


@bp.get("/training/<int:run_id>")
def training_run(run_id: int) -> str:
    run = get_or_404(TrainingRun, run_id, "training run")
    version = db().scalar(select(ModelVersion).where(ModelVersion.training_run_id == run_id))
    return render_template("training_run.html", run=run, version=version)


@bp.post("/models/<int:version_id>/activate")
def promote_version(version_id: int) -> Response:
    version = get_or_404(ModelVersion, version_id, "model version")
    try:
        activate(db(), version)
    except ValueError as exc:
        abort(409, str(exc))
    db().commit()
    flash(f"version {version.id} ({version.name}) is now served by {version.engine} workers")
    back = request.form.get("back")
    return redirect(local_url(back) if back else url_for("pages.training_runs"))


@bp.post("/models/base/<engine>")
def serve_base_model(engine: str) -> Response:
    deactivate_all(db(), engine)
    db().commit()
    flash(f"{engine} workers serve the untrained base again")
    return redirect(url_for("pages.training_runs"))
