"""A training run from start to registered model version, the same for every engine.

dataset (a folder or the reviewed receipts) → split → the engine's recipe fits an artefact →
the serving model (the active version, or the base) and the candidate are scored on the
held-out split with the project metric → the artefact is stored → a candidate model version is
registered (and promoted when asked to and it scores higher). Progress and loss go to the
``training_runs`` row as they happen, for the run page.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import update
from tqdm import tqdm

from shared import acceptance
from shared.artifacts import store_dir, unpack
from shared.config import Settings, get_settings
from shared.db.models import ModelVersion, RunStatus, TrainingRun, utcnow
from shared.db.session import session_scope
from shared.engines.base import Engine
from shared.evaluation import EvalReport, confidence_records, evaluate
from shared.model_versions import activate, active_version
from shared.storage import get_storage
from trainer import data
from trainer.recipes import recipe_for

log = logging.getLogger(__name__)


class RunAlreadyStarted(RuntimeError):
    """The run left ``queued`` before this delivery of its task: another one runs or ran it."""


CANDIDATE = -1  # version id the evaluation engine gives the not yet registered artefact


def _update(run_id: int, **values: Any) -> None:
    with session_scope() as session:
        run = session.get(TrainingRun, run_id)
        assert run is not None
        for key, value in values.items():
            setattr(run, key, value)


def _examples(run: TrainingRun) -> list[data.Labelled]:
    folder = run.params.get("folder")
    if folder:
        return data.from_folder(Path(folder))
    with session_scope() as session:
        return data.from_corrections(session, get_storage(), run.dataset.get("receipt_ids"))


def _score(engine: Engine, examples: Sequence[data.Labelled], params: dict[str, Any],
           show_progress: bool) -> EvalReport:
    return evaluate(engine, examples, batch_size=16, progress=show_progress,
                    normalize=bool(params.get("normalize")))


def _metrics(report: EvalReport) -> dict[str, Any]:
    """Fuzzy per field at the top level (as versions recorded before exact match), the exact
    rates under ``exact``."""
    summary = report.board.summary()
    fields: dict[str, Any] = summary["fields"]  # type: ignore[assignment]
    return {**fields, "mean": summary["mean"], "receipts": summary["receipts"],
            "exact": summary["exact"], "exact_mean": summary["exact_mean"]}


def execute(run_id: int, settings: Settings | None = None, show_progress: bool = False) -> int:
    """Run the training run ``run_id``; returns the new model version's id. ``show_progress``:
    progress bars on the terminal (`receiptflow train`), for training and each evaluation."""
    settings = settings or get_settings()
    with session_scope() as session:
        run = session.get(TrainingRun, run_id)
        if run is None:
            raise ValueError(f"training run {run_id} does not exist")
        # A conditional claim: a second delivery of the run's task (the broker gives a message
        # back when its trainer holds it past the visibility timeout, as a long run does)
        # finds it started and leaves it alone.
        claimed = session.execute(
            update(TrainingRun)
            .where(TrainingRun.id == run_id, TrainingRun.status == RunStatus.QUEUED)
            .values(status=RunStatus.RUNNING, started_at=utcnow(), error=None)).rowcount
        if not claimed:
            raise RunAlreadyStarted(f"training run {run_id} is {run.status.value} already; "
                                    "a second delivery of its task does nothing")
        session.refresh(run)
    try:
        return _execute(run, settings, show_progress)
    except Exception as exc:
        log.exception("training run %s failed", run_id)
        _update(run_id, status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}",
                finished_at=utcnow())
        raise


def _execute(run: TrainingRun, settings: Settings, show_progress: bool) -> int:
    recipe = recipe_for(run.engine, settings)
    params = dict(run.params)
    fields = settings.fields
    examples = _examples(run)
    if len(examples) < 2:
        raise ValueError(f"need at least 2 reviewed receipts to train and evaluate, "
                         f"found {len(examples)}")
    train_set, held_out = data.split(examples, float(params.get("held_out", 0.2)),
                                     int(params.get("seed", 0)))
    _update(run.id, dataset={**run.dataset, "train": [e.name for e in train_set],
                             "held_out": [e.name for e in held_out]})
    losses: list[dict[str, float]] = []
    last_write = [0.0]
    bar = tqdm(desc="training", unit="step", disable=not show_progress)

    def progress(step: int, total: int, loss: float | None) -> None:
        bar.total = total
        bar.update(step - bar.n)
        if loss is not None:
            losses.append({"step": step, "loss": round(loss, 5)})
            bar.set_postfix(loss=f"{loss:.4f}")
        if time.monotonic() - last_write[0] > 2 or step == total:
            last_write[0] = time.monotonic()
            _update(run.id, progress=round(0.9 * step / total, 4), loss_log=list(losses))

    with tempfile.TemporaryDirectory(prefix="receiptflow-train-") as tmp_name:
        tmp = Path(tmp_name)
        train_stats = recipe.fit(train_set, fields, params, tmp / "artifact", progress)
        bar.close()
        with session_scope() as session:
            current = active_version(session, recipe.engine)
            current_id = current.id if current else None
            current_key = current.artifact_key if current else None
        engine = recipe.serving_engine(fields, params)
        if current_key:
            engine.use_version(current_id, unpack(current_key, get_storage(),
                                                  settings.models_cache_dir))
        current_report = _score(engine, held_out, params, show_progress)
        engine.use_version(CANDIDATE, tmp / "artifact")
        candidate_report = _score(engine, held_out, params, show_progress)
        del engine
        key = store_dir(tmp / "artifact", get_storage())

    metrics = {"current": {"version_id": current_id, **_metrics(current_report)},
               "candidate": _metrics(candidate_report), "train": train_stats}
    better = candidate_report.board.mean > current_report.board.mean
    with session_scope() as session:
        version = ModelVersion(engine=recipe.engine, name=f"run-{run.id}",
                               base_model=recipe.base_model(params), artifact_key=key,
                               metrics=metrics, training_run_id=run.id)
        session.add(version)
        session.flush()
        # The candidate's confidences, calibrated on its held-out receipts: a promoted version
        # auto-accepts from its first receipt, not only after 40 reviews of its own.
        kinds = {f.name: f.kind for f in fields if not f.is_table}
        acceptance.store(session, recipe.engine, version.id,
                         confidence_records(candidate_report, held_out, kinds),
                         source="training", reviews=len(held_out))
        promoted = bool(params.get("auto_promote")) and better
        if promoted:
            activate(session, version)
        row = session.get(TrainingRun, run.id)
        assert row is not None
        row.status, row.finished_at, row.progress = RunStatus.DONE, utcnow(), 1.0
        row.metrics = {**metrics, "model_version_id": version.id, "promoted": promoted}
        row.loss_log = losses
        log.info("training run %s: candidate %.2f vs current %.2f → version %s%s", run.id,
                 candidate_report.board.mean, current_report.board.mean, version.id,
                 " (promoted)" if promoted else "")
        return version.id

