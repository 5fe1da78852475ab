"""Model versions: `train` one, `versions list|activate`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.common import checked_settings


@click.command()
@click.option("--engine", default=None,
              help="internvl (QLoRA adapter) or ocr (learned extractor) [default: config]")
@click.option("--folder", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Train on DIR/images + DIR/labels instead of the reviewed receipts")
@click.option("--receipt", "receipt_ids", multiple=True, type=int,
              help="Only these reviewed receipts (repeatable)")
@click.option("--model", default=None, help="Base checkpoint [default: RECEIPTFLOW_INTERNVL_MODEL]")
@click.option("--epochs", default=3.0, show_default=True, type=float)
@click.option("--batch-size", default=4, show_default=True, type=int)
@click.option("--learning-rate", default=2e-4, show_default=True, type=float)
@click.option("--lora-r", default=128, show_default=True, type=int)
@click.option("--precision", default="4bit", show_default=True,
              type=click.Choice(["4bit", "bf16", "fp32"]))
@click.option("--held-out", default=0.2, show_default=True, type=float)
@click.option("--normalize", is_flag=True,
              help="Score the held-out split as `eval --normalize` does (WildReceipt labels)")
@click.option("--auto-promote", is_flag=True, help="Promote if it beats the current model")
@click.option("--queue", "via_queue", is_flag=True,
              help="Send to the `training` queue instead of training in this process")
def train(engine: str | None, folder: Path | None, receipt_ids: tuple[int, ...],
          model: str | None, epochs: float, batch_size: int, learning_rate: float, lora_r: int,
          precision: str, held_out: float, normalize: bool, auto_promote: bool,
          via_queue: bool) -> None:
    """Train a model version (InternVL: QLoRA adapter; ocr: learned field extractor), score it
    against the serving model on a held-out split, register it."""
    from shared.db.session import session_scope
    from shared.training_runs import create_run, enqueue_run

    settings = checked_settings()
    params = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
              "lora_r": lora_r, "lora_alpha": 2 * lora_r, "precision": precision,
              "held_out": held_out, "normalize": normalize, "auto_promote": auto_promote}
    if folder:
        params["folder"] = str(folder.resolve())
    if model:
        params["model"] = model
    with session_scope() as session:
        run_id = create_run(session, engine or settings.engine, params, "cli", receipt_ids).id
    if via_queue:
        enqueue_run(run_id)
        click.echo(f"training run {run_id} queued")
        return
    from shared.db.models import ModelVersion
    from trainer.run import execute

    version_id = execute(run_id, show_progress=True)
    with session_scope() as session:
        version = session.get(ModelVersion, version_id)
        assert version is not None
        click.echo(json.dumps({"training_run": run_id, "model_version": version_id,
                               "status": version.status.value, "metrics": version.metrics},
                              indent=2))


@click.group()
def versions() -> None:
    """Model versions: list, promote, roll back."""


@versions.command("list")
@click.option("--engine", default="internvl", show_default=True)
def versions_list(engine: str) -> None:
    from sqlalchemy import select

    from shared.db.models import ModelVersion
    from shared.db.session import session_scope

    checked_settings()
    with session_scope() as session:
        for v in session.scalars(select(ModelVersion).where(ModelVersion.engine == engine)
                                 .order_by(ModelVersion.id)):
            candidate = v.metrics.get("candidate", {})
            exact = candidate.get("exact_mean")
            click.echo(f"{v.id:>4}  {v.status.value:<9} {v.name:<16} "
                       f"mean={candidate.get('mean', '')}"
                       + (f" exact={exact}%" if exact is not None else ""))


@versions.command("activate")
@click.argument("version_id", type=int)
def versions_activate(version_id: int) -> None:
    """Serve this version (promote, or roll back to an older one)."""
    from shared.db.models import ModelVersion
    from shared.db.session import session_scope
    from shared.model_versions import activate

    checked_settings()
    with session_scope() as session:
        version = session.get(ModelVersion, version_id)
        if version is None:
            raise click.ClickException(f"model version {version_id} does not exist")
        try:
            activate(session, version)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"model version {version_id} is active; workers switch between batches")


@click.group("models")
def models_group() -> None:
    """Model weights: fetch a checkpoint where a model hub is reachable."""


@models_group.command("download")
@click.argument("model_id", default="OpenGVLab/InternVL3-2B-hf")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=Path("/models"),
              show_default=True, help="Folder to put the checkpoint's folder in")
def models_download(model_id: str, dest: Path) -> None:
    """Download MODEL_ID (an InternVL `-hf` checkpoint) into DEST/<its name>, then point
    RECEIPTFLOW_INTERNVL_MODEL at that folder. Without a reachable hub, copy the checkpoint
    folder there yourself (or mount one): the workers only ever read a local folder."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError as exc:
        raise click.ClickException("downloading models needs the gpu extra "
                                   "(pip install 'receiptflow[gpu]')") from exc
    target = dest / model_id.rsplit("/", 1)[-1]
    try:
        snapshot_download(model_id, local_dir=target)
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
        raise click.ClickException(
            f"could not download {model_id}: {str(exc).rstrip('.')}. Where no model hub is "
            f"reachable, copy the checkpoint folder to {target} (config.json, *.safetensors, "
            "tokenizer and processor files) instead") from exc
    click.echo(f"{model_id} is in {target}: set RECEIPTFLOW_INTERNVL_MODEL={target}")
