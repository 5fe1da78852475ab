"""A training run from start to registered model version.

dataset (a folder or the reviewed receipts) → split → fit a LoRA adapter → evaluate the serving
model and the candidate on the held-out split with the project metric → store the adapter →
register a candidate model version (optionally promote it when it beats the current one).
Progress and loss go to the ``training_runs`` row as they happen, for the run page.
"""

from __future__ import annotations

import gc
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.artifacts import store_dir
from shared.config import Settings, get_settings
from shared.db.models import ModelVersion, RunStatus, TrainingRun, utcnow
from shared.db.session import session_scope
from shared.engines.base import Engine
from shared.evaluation import EvalReport, Example, evaluate
from shared.fields import FieldSpec
from shared.model_versions import activate, active_version
from shared.storage import get_storage
from trainer import data
from trainer.qlora import TrainParams, fit

log = logging.getLogger(__name__)
CANDIDATE = -1  # version id the evaluation engine gives the not yet registered adapter


def _update(run_id: int, **values: Any) -> None:
    with session_scope() as session:
        run = session.get(TrainingRun, run_id)
        assert run is not None
        for key, value in values.items():
            setattr(run, key, value)


def _examples(run: TrainingRun, settings: Settings) -> list[data.Labelled]:
    folder = run.params.get("folder")
    if folder:
        return data.from_folder(Path(folder))
    with session_scope() as session:
        return data.from_corrections(session, get_storage(), run.dataset.get("receipt_ids"))


def _score(engine: Engine, examples: Sequence[data.Labelled], tmp: Path) -> EvalReport:
    # shared.evaluation reads files, so held-out images from the database are written out once.
    files = []
    for ex in examples:
        if ex.path is None:
            path = tmp / f"{ex.name}.img"
            path.write_bytes(ex.data or b"")
        else:
            path = ex.path
        files.append(Example(path, ex.label))
    return evaluate(engine, files, batch_size=16, progress=False)


def _metrics(report: EvalReport) -> dict[str, Any]:
    return {**report.summary()["fields"], "mean": round(report.board.mean, 2),  # type: ignore[dict-item]
            "receipts": report.board.count}


def _engine(fields: Sequence[FieldSpec], settings: Settings, version_id: int | None,
            adapter_dir: Path | None) -> Engine:
    """The serving engine as workers run it now (the active adapter, if any)."""
    from shared.engines.internvl.engine import InternVLEngine

    engine = InternVLEngine(fields, settings)
    if adapter_dir is not None:
        engine.use_version(version_id, adapter_dir)
    return engine


def execute(run_id: int, settings: Settings | None = None) -> int:
    """Run the training run ``run_id``; returns the new model version's id."""
    settings = settings or get_settings()
    with session_scope() as session:
        run = session.get(TrainingRun, run_id)
        if run is None:
            raise ValueError(f"training run {run_id} does not exist")
        run.status, run.started_at, run.error = RunStatus.RUNNING, utcnow(), None
        params = TrainParams.from_dict(run.params)
        run_params = dict(run.params)
    try:
        return _execute(run_id, run, run_params, params, settings)
    except Exception as exc:
        log.exception("training run %s failed", run_id)
        _update(run_id, status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}",
                finished_at=utcnow())
        raise


def _execute(run_id: int, run: TrainingRun, run_params: dict[str, Any], params: TrainParams,
             settings: Settings) -> int:
    fields = settings.fields
    examples = _examples(run, settings)
    if len(examples) < 2:
        raise ValueError(f"need at least 2 labelled receipts to train and evaluate, "
                         f"found {len(examples)}")
    train_set, held_out = data.split(examples, float(run_params.get("held_out", 0.2)),
                                     params.seed)
    _update(run_id, dataset={"train": [e.name for e in train_set],
                             "held_out": [e.name for e in held_out],
                             **({"receipt_ids": run.dataset["receipt_ids"]}
                                if run.dataset.get("receipt_ids") else {})})
    losses: list[dict[str, float]] = []
    last_write = [0.0]

    def progress(step: int, total: int, loss: float) -> None:
        losses.append({"step": step, "loss": round(loss, 5)})
        if time.monotonic() - last_write[0] > 2 or step == total:
            last_write[0] = time.monotonic()
            _update(run_id, progress=round(step / total, 4), loss_log=list(losses))

    model_path = run_params.get("model") or settings.internvl_model
    serve_settings = settings.model_copy(update={"internvl_model": model_path})
    with tempfile.TemporaryDirectory(prefix="receiptflow-train-") as tmp_name:
        tmp = Path(tmp_name)
        result = fit(model_path, train_set, fields, params, tmp / "adapter",
                     device=settings.internvl_device, progress=progress)
        gc.collect()
        with session_scope() as session:
            current = active_version(session, "internvl")
            current_key = current.artifact_key if current else None
            current_id = current.id if current else None
        current_dir = None
        if current_key:
            from shared.artifacts import unpack

            current_dir = unpack(current_key, get_storage(), settings.data_dir.resolve() / "models")
        engine = _engine(fields, serve_settings, current_id, current_dir)
        base_report = _score(engine, held_out, tmp)
        engine.use_version(CANDIDATE, tmp / "adapter")
        cand_report = _score(engine, held_out, tmp)
        del engine
        gc.collect()
        key = store_dir(tmp / "adapter", get_storage())

    metrics = {
        "current": {"version_id": current_id, **_metrics(base_report)},
        "candidate": _metrics(cand_report),
        "train": {"samples_per_s": round(result.samples_per_s, 3),
                  "seconds": round(result.seconds, 1), "final_loss": result.losses[-1],
                  "peak_memory_gb": result.peak_memory_gb},
    }
    with session_scope() as session:
        version = ModelVersion(
            engine="internvl", name=f"run-{run_id}", base_model=str(model_path),
            artifact_key=key, metrics=metrics, training_run_id=run_id,
        )
        session.add(version)
        session.flush()
        promoted = (bool(run_params.get("auto_promote"))
                    and cand_report.board.mean > base_report.board.mean)
        if promoted:
            activate(session, version)
        run_row = session.get(TrainingRun, run_id)
        assert run_row is not None
        run_row.status, run_row.finished_at, run_row.progress = RunStatus.DONE, utcnow(), 1.0
        run_row.metrics = {**metrics, "model_version_id": version.id, "promoted": promoted}
        run_row.loss_log = losses
        log.info("training run %s: candidate %.1f vs current %.1f -> version %s%s", run_id,
                 cand_report.board.mean, base_report.board.mean, version.id,
                 " (promoted)" if promoted else "")
        return version.id


def create_run(params: dict[str, Any], requested_by: str,
               receipt_ids: Sequence[int] | None = None) -> int:
    with session_scope() as session:
        run = TrainingRun(engine="internvl", params=params, requested_by=requested_by,
                          dataset={"receipt_ids": list(receipt_ids)} if receipt_ids else {})
        session.add(run)
        session.flush()
        return run.id
