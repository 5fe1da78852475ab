"""`receiptflow`: up, web, worker, submit, eval, requeue, db upgrade, users, tokens."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import click

from shared.config import ConfigError, get_settings, reset_settings_cache


def _settings():  # type: ignore[no-untyped-def]
    try:
        return get_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def cli() -> None:
    """ReceiptFlow: scanned receipts in, structured fields out."""


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations to the configured database."""
    from shared.db.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url, revision)
    click.echo(f"database at {revision}: {settings.resolved_database_url}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def web(host: str, port: int) -> None:
    """Serve the web UI and API (threaded; use gunicorn 'web:create_app()' in production)."""
    from werkzeug.serving import run_simple

    from web import create_app

    _settings()
    run_simple(host, port, create_app(), threaded=True, use_reloader=False)


@cli.command()
@click.option("--engine", default=None, help="Engine whose queue to consume [default: config]")
@click.option("--concurrency", "-c", default=1, show_default=True, type=int)
@click.option("--pool", default="prefork", show_default=True,
              type=click.Choice(["prefork", "solo", "threads"]))
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Receipts gathered across tasks into one engine call. Above 1 the worker "
                   "uses the threads pool, concurrency at least 4 x batch size (one batch on the "
                   "GPU, one prepared, one filling, one being written) and prefetch multiplier "
                   "1, whatever --pool and -c say. [default: RECEIPTFLOW_WORKER_BATCH_SIZE; "
                   "for internvl, RECEIPTFLOW_INTERNVL_BATCH_SIZE]")
@click.option("--batch-wait-ms", type=click.FloatRange(min=0), default=None,
              help="Longest wait for a batch to fill after its first receipt "
                   "[default: RECEIPTFLOW_WORKER_BATCH_WAIT_MS, 50]")
@click.option("--loglevel", default="info", show_default=True)
def worker(engine: str | None, concurrency: int, pool: str, batch_size: int | None,
           batch_wait_ms: float | None, loglevel: str) -> None:
    """Run a Celery worker for one engine's queue."""
    from shared.engines import ENGINE_NAMES
    from shared.queues import queue_for_engine

    settings = _settings()
    engine = engine or settings.engine
    if engine not in ENGINE_NAMES:
        raise click.BadParameter(f"choose one of {sorted(ENGINE_NAMES)}", param_hint="--engine")
    if batch_size is None:
        # The GPU engine is only fast on big batches; the CPU one gains nothing from them.
        explicit = "worker_batch_size" in settings.model_fields_set
        batch_size = (settings.internvl_batch_size if engine == "internvl" and not explicit
                      else settings.worker_batch_size)
    if batch_wait_ms is None:
        batch_wait_ms = settings.worker_batch_wait_ms
    # Task bodies read these from the settings, like every other option.
    os.environ["RECEIPTFLOW_WORKER_BATCH_SIZE"] = str(batch_size)
    os.environ["RECEIPTFLOW_WORKER_BATCH_WAIT_MS"] = str(batch_wait_ms)
    reset_settings_cache()
    _settings()
    extra = []
    if batch_size > 1:
        # Blocked task threads are what fill a batch. The pipeline (worker/batching.py) holds
        # four: one on the GPU, one prepared and waiting, one filling, and one being parsed
        # and written, whose tasks return only once it is stored. With one batch too few the
        # filling one fills only as another finishes, in bits (measured with 2x and a two-stage
        # pipeline: 28 calls of 71 on average instead of 128).
        pool, concurrency = "threads", max(concurrency, 4 * batch_size)
        extra = ["--prefetch-multiplier", "1"]
        click.echo(f"batching up to {batch_size} receipts per engine call (waiting up to "
                   f"{batch_wait_ms:g} ms): threads pool, concurrency {concurrency}, "
                   "prefetch multiplier 1")
    from worker.tasks import app

    app.worker_main([
        "worker", "-Q", queue_for_engine(engine), "-c", str(concurrency), "-P", pool,
        "-n", f"{engine}-%h-{os.getpid()}", "--loglevel", loglevel, "--without-gossip",
        "--without-mingle", *extra,
    ])


@cli.command()
@click.option("--concurrency", "-c", default=1, show_default=True, type=int)
@click.option("--loglevel", default="info", show_default=True)
def trainer(concurrency: int, loglevel: str) -> None:
    """Run the trainer: a Celery worker on the `training` queue (one run at a time per GPU)."""
    from shared.queues import TRAINING_QUEUE

    _settings()
    from trainer.tasks import app

    app.worker_main([
        "worker", "-Q", TRAINING_QUEUE, "-c", str(concurrency), "-P", "solo",
        "-n", f"trainer-%h-{os.getpid()}", "--loglevel", loglevel, "--without-gossip",
        "--without-mingle",
    ])


@cli.command()
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
@click.option("--auto-promote", is_flag=True, help="Promote if it beats the current model")
@click.option("--queue", "via_queue", is_flag=True,
              help="Send to the `training` queue instead of training in this process")
def train(engine: str | None, folder: Path | None, receipt_ids: tuple[int, ...],
          model: str | None, epochs: float, batch_size: int, learning_rate: float, lora_r: int,
          precision: str, held_out: float, auto_promote: bool, via_queue: bool) -> None:
    """Train a model version (InternVL: QLoRA adapter; ocr: learned field extractor), score it
    against the serving model on a held-out split, register it."""
    from shared.db.session import session_scope
    from shared.training_runs import create_run, enqueue_run

    settings = _settings()
    params = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
              "lora_r": lora_r, "lora_alpha": 2 * lora_r, "precision": precision,
              "held_out": held_out, "auto_promote": auto_promote}
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

    version_id = execute(run_id)
    with session_scope() as session:
        version = session.get(ModelVersion, version_id)
        assert version is not None
        click.echo(json.dumps({"training_run": run_id, "model_version": version_id,
                               "status": version.status.value, "metrics": version.metrics},
                              indent=2))


@cli.group()
def versions() -> None:
    """Model versions: list, promote, roll back."""


@versions.command("list")
@click.option("--engine", default="internvl", show_default=True)
def versions_list(engine: str) -> None:
    from sqlalchemy import select

    from shared.db.models import ModelVersion
    from shared.db.session import session_scope

    _settings()
    with session_scope() as session:
        for v in session.scalars(select(ModelVersion).where(ModelVersion.engine == engine)
                                 .order_by(ModelVersion.id)):
            mean = v.metrics.get("candidate", {}).get("mean", "")
            click.echo(f"{v.id:>4}  {v.status.value:<9} {v.name:<16} mean={mean}")


@versions.command("activate")
@click.argument("version_id", type=int)
def versions_activate(version_id: int) -> None:
    """Serve this version (promote, or roll back to an older one)."""
    from shared.db.models import ModelVersion
    from shared.db.session import session_scope
    from shared.model_versions import activate

    _settings()
    with session_scope() as session:
        version = session.get(ModelVersion, version_id)
        if version is None:
            raise click.ClickException(f"model version {version_id} does not exist")
        try:
            activate(session, version)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"model version {version_id} is active; workers switch between batches")


@cli.command()
def requeue() -> None:
    """Send queued receipts that never reached the broker."""
    from shared.db.session import session_scope
    from shared.dispatch import requeue_unsent

    _settings()
    with session_scope() as session:
        click.echo(f"requeued {requeue_unsent(session)} receipts")


def _first_admin(data_dir: Path) -> None:
    """First run: an admin account to log in with, its password shown once and kept in a
    file only the owner can read."""
    from shared.db.session import session_scope
    from web.auth.users import ensure_first_admin

    with session_scope() as session:
        password = ensure_first_admin(session)
    if password is None:
        return
    secret = data_dir / "initial-admin-password"
    secret.touch(mode=0o600)
    secret.write_text(password + "\n")
    click.echo(f"first run: log in as `admin` with password {password} (also in {secret}); "
               "change it on /admin/users")


@cli.command()
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--concurrency", default=1, show_default=True, type=int)
def up(port: int, host: str, concurrency: int) -> None:
    """Run everything on this machine: database, broker, one worker, the web server."""
    from cli.services import EmbeddedRedis, redis_reachable, spawn, stop_all
    from shared.db.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # `up` serves plain HTTP, where a browser would not send back a Secure-only login cookie.
    env.setdefault("RECEIPTFLOW_COOKIE_SECURE", "false")
    broker = None
    if not settings.redis_url:
        broker = EmbeddedRedis(settings.data_dir / "redis")
        env["REDIS_URL"] = broker.start()
        click.echo(f"started embedded Redis-compatible server at {env['REDIS_URL']}")
    elif not redis_reachable(settings.redis_url):
        raise click.ClickException(f"REDIS_URL={settings.redis_url} is not reachable")
    os.environ.update(env)
    reset_settings_cache()
    upgrade(settings.resolved_database_url)
    _first_admin(settings.data_dir)
    procs = [
        spawn(["worker", "--concurrency", str(concurrency)], env),
        # Training runs started from the UI (on the CPU: the OCR engine's learned extractor).
        spawn(["trainer"], env),
        spawn(["web", "--host", host, "--port", str(port)], env),
    ]
    click.echo(f"ReceiptFlow is up: http://{host}:{port}/  (Ctrl-C stops it)")
    # SIGTERM (a service manager, `kill`) and SIGINT (even where a shell started us with it
    # ignored) both stop the children cleanly instead of orphaning them.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        click.echo("a process exited; stopping the rest", err=True)
    except KeyboardInterrupt:
        click.echo("stopping...")
    finally:
        stop_all(procs)
        if broker is not None:
            broker.stop()
    sys.exit(0)


@cli.command()
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


@cli.command("eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--engine", default=None)
@click.option("--limit", default=0, type=int, help="Only the first N receipts")
@click.option("--batch-size", default=1, show_default=True, type=int)
@click.option("--output", type=click.Path(path_type=Path), help="Write predictions as JSON")
def eval_(folder: Path, engine: str | None, limit: int, batch_size: int,
          output: Path | None) -> None:
    """Score an engine on a labelled folder (images/ + labels/)."""
    from shared.engines import build_engine
    from shared.evaluation import evaluate, load_labelled_folder

    settings = _settings()
    examples = load_labelled_folder(folder)[: limit or None]
    built = build_engine(engine or settings.engine, settings.fields)
    report = evaluate(built, examples, batch_size=batch_size,
                      max_pixels=settings.max_image_pixels)
    summary = report.summary()
    click.echo(f"engine {built.name} ({built.model_name}) on {folder}")
    for key, value in summary["fields"].items():  # type: ignore[union-attr]
        click.echo(f"  {key:<10} {value:6.2f}")
    click.echo(f"  {'mean':<10} {summary['mean']:6.2f}")
    click.echo(f"{summary['receipts']} receipts in {report.seconds:.1f} s: "
               f"{summary['receipts_per_s']} receipts/s, {summary['failures']} failures")
    if output:
        output.write_text(json.dumps({"summary": summary, "predictions": report.predictions,
                                      "failures": report.failures}, indent=2))


@cli.group()
def users() -> None:
    """Accounts for the web UI and the API."""


def _create_user(username: str, password: str, role: str) -> None:
    from shared.db.session import session_scope
    from web.auth.users import AccountError, create_user

    _settings()
    try:
        with session_scope() as session:
            user = create_user(session, username, password, role)
            click.echo(f"created {user.role.value} {user.username!r}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("create-admin")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
def users_create_admin(username: str, password_stdin: bool) -> None:
    """Create an admin (asks for the password twice)."""
    _create_user(username, _read_password(password_stdin), "admin")


@users.command("create")
@click.argument("username")
@click.option("--role", default="reviewer", show_default=True,
              type=click.Choice(["reviewer", "admin"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
def users_create(username: str, role: str, password_stdin: bool) -> None:
    """Create a user (asks for the password twice)."""
    _create_user(username, _read_password(password_stdin), role)


@cli.group()
def tokens() -> None:
    """API tokens (`Authorization: Bearer <token>`)."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for, e.g. nightly-import")
def tokens_create(username: str, name: str) -> None:
    """Create an API token for USERNAME and print it (only this once: it is stored hashed)."""
    from shared.db.session import session_scope
    from web.auth.tokens import create_token
    from web.auth.users import find

    _settings()
    with session_scope() as session:
        user = find(session, username)
        if user is None or not user.active:
            raise click.ClickException(f"no active user {username!r}")
        try:
            _row, token = create_token(session, user, name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(token)


if __name__ == "__main__":
    cli()
