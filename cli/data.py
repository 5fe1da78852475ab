"""Data in and out: the schema, sending stranded receipts again, re-checking them against the
validation rules, `submit` and `eval`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.common import checked_settings, duration


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations to the configured database."""
    from shared.db.migrate import upgrade

    settings = checked_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url, revision)
    click.echo(f"database at {revision}: {settings.resolved_database_url}")


@click.command()
@click.option("--older-than", default=None, metavar="DURATION",
              help="Also send again every unfinished receipt untouched this long (e.g. 90s, "
                   "10m, 2h), whatever its lease or the broker says")
def requeue(older_than: str | None) -> None:
    """Send stranded receipts again: never sent, lost by the broker, or held by a worker that
    died (what the workers' reconciler does every few seconds)."""
    from shared.db.session import session_scope
    from shared.recovery import reconcile

    checked_settings()
    with session_scope() as session:
        click.echo(str(reconcile(session, older_than=duration(older_than, "--older-than"))))


@click.command()
@click.option("--batch", "batch_id", type=int, default=None, help="Only this batch")
def recheck(batch_id: int | None) -> None:
    """Run the validation rules again on every finished receipt (after changing
    RECEIPTFLOW_VALIDATION_FILE): the review queue sorts and filters on what they say."""
    from sqlalchemy import select
    from tqdm import tqdm

    from shared.db.models import Receipt, ReceiptStatus
    from shared.db.session import session_scope
    from shared.results import refresh_review_reasons

    checked_settings()
    query = select(Receipt.id).where(Receipt.status == ReceiptStatus.DONE).order_by(Receipt.id)
    if batch_id is not None:
        query = query.where(Receipt.batch_id == batch_id)
    with session_scope() as session:
        ids = list(session.scalars(query))
    flagged = 0
    for start in tqdm(range(0, len(ids), 200), unit="200 receipts", disable=not ids):
        with session_scope() as session:
            flagged += refresh_review_reasons(session, ids[start:start + 200])
    click.echo(f"checked {len(ids)} receipts: {flagged} flagged for review")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--url", default="http://127.0.0.1:8000", show_default=True,
              envvar="RECEIPTFLOW_URL")
@click.option("--name", default="", help="Batch name")
@click.option("--engine", default=None)
@click.option("--format", "fmt", default="json", show_default=True,
              type=click.Choice(["json", "csv"]))
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait")
@click.option("--token", envvar="RECEIPTFLOW_TOKEN", required=True,
              help="API token (`receiptflow tokens create`) [env: RECEIPTFLOW_TOKEN]")
def submit(paths: tuple[Path, ...], url: str, name: str, engine: str | None, fmt: str,
           timeout: float, token: str) -> None:
    """Upload images (files, folders, zips), wait with a progress bar, print the results."""
    from cli.submit import submit_and_wait

    sys.stdout.write(submit_and_wait(list(paths), url=url, name=name, engine=engine, fmt=fmt,
                                     timeout=timeout, token=token))


@click.command("eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--engine", default=None)
@click.option("--version", "version_id", type=int, default=None,
              help="Score this model version (`receiptflow versions list`) [default: rules or "
                   "the base model, whatever is active]")
@click.option("--normalize", is_flag=True,
              help="Labels written without spaces (WildReceipt): score fuzzy on texts with "
                   "whitespace removed and case folded, amounts as numbers")
@click.option("--limit", default=0, type=int, help="Only the first N receipts")
@click.option("--batch-size", default=1, show_default=True, type=int)
@click.option("--output", type=click.Path(path_type=Path), help="Write predictions as JSON")
def eval_(folder: Path, engine: str | None, version_id: int | None, normalize: bool, limit: int,
          batch_size: int, output: Path | None) -> None:
    """Score an engine on a labelled folder (images/ + labels/): fuzzy mean and exact-match
    rate per field."""
    from shared.engines import build_engine
    from shared.evaluation import evaluate, load_labelled_folder

    settings = checked_settings()
    examples = load_labelled_folder(folder)[: limit or None]
    engine_name = engine or settings.engine
    version_dir = None
    if version_id is not None:
        engine_name, version_dir = _version_artifact(version_id, engine, settings.models_cache_dir)
    built = build_engine(engine_name, settings.fields)
    if version_dir is not None:
        built.use_version(version_id, version_dir)
    report = evaluate(built, examples, batch_size=batch_size, normalize=normalize)
    summary = report.summary()
    label = f" version {version_id}" if version_id is not None else ""
    click.echo(f"engine {built.name}{label} ({built.model_name}) on {folder}"
               f"{' (normalised)' if normalize else ''}")
    click.echo(f"  {'field':<10} {'fuzzy':>6} {'exact %':>8}")
    exact: dict[str, float] = summary["exact"]  # type: ignore[assignment]
    for key, value in summary["fields"].items():  # type: ignore[union-attr]
        click.echo(f"  {key:<10} {value:6.2f} {exact[key]:8.1f}")
    click.echo(f"  {'mean':<10} {summary['mean']:6.2f} {summary['exact_mean']:8.1f}")
    click.echo(f"{summary['receipts']} receipts in {report.seconds:.1f} s: "
               f"{summary['receipts_per_s']} receipts/s, {summary['failures']} failures")
    if output:
        output.write_text(json.dumps({"summary": summary, "predictions": report.predictions,
                                      "failures": report.failures}, indent=2))


def _version_artifact(version_id: int, engine: str | None, cache_dir: Path) -> tuple[str, Path]:
    """The engine a model version belongs to and its artefact unpacked in the models cache."""
    from shared.artifacts import unpack
    from shared.db.models import ModelVersion
    from shared.db.session import session_scope
    from shared.storage import get_storage

    with session_scope() as session:
        version = session.get(ModelVersion, version_id)
        if version is None:
            raise click.ClickException(f"model version {version_id} does not exist "
                                       "(`receiptflow versions list --engine ...`)")
        if engine and engine != version.engine:
            raise click.ClickException(f"model version {version_id} is a {version.engine} "
                                       f"version, not {engine}")
        name, key = version.engine, version.artifact_key
    if not key:
        raise click.ClickException(f"model version {version_id} has no stored artefact")
    return name, unpack(key, get_storage(), cache_dir)
