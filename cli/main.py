"""`receiptflow`: up, web, worker, submit, eval, requeue, db upgrade."""

from __future__ import annotations

import json
import os
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
@click.option("--loglevel", default="info", show_default=True)
def worker(engine: str | None, concurrency: int, pool: str, loglevel: str) -> None:
    """Run a Celery worker for one engine's queue."""
    from shared.engines import ENGINE_NAMES
    from shared.queues import queue_for_engine

    settings = _settings()
    engine = engine or settings.engine
    if engine not in ENGINE_NAMES:
        raise click.BadParameter(f"choose one of {sorted(ENGINE_NAMES)}", param_hint="--engine")
    from worker.tasks import app

    app.worker_main([
        "worker", "-Q", queue_for_engine(engine), "-c", str(concurrency), "-P", pool,
        "-n", f"{engine}-%h-{os.getpid()}", "--loglevel", loglevel, "--without-gossip",
        "--without-mingle",
    ])


@cli.command()
def requeue() -> None:
    """Send queued receipts that never reached the broker."""
    from shared.db.session import session_scope
    from shared.dispatch import requeue_unsent

    _settings()
    with session_scope() as session:
        click.echo(f"requeued {requeue_unsent(session)} receipts")


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
    procs = [
        spawn(["worker", "--concurrency", str(concurrency)], env),
        spawn(["web", "--host", host, "--port", str(port)], env),
    ]
    click.echo(f"ReceiptFlow is up: http://{host}:{port}/  (Ctrl-C stops it)")
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
def submit(paths: tuple[Path, ...], url: str, name: str, engine: str | None, fmt: str,
           timeout: float) -> None:
    """Upload images (files, folders, zips), wait with a progress bar, print the results."""
    from cli.submit import submit_and_wait

    sys.stdout.write(submit_and_wait(list(paths), url=url, name=name, engine=engine, fmt=fmt,
                                     timeout=timeout))


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


if __name__ == "__main__":
    cli()
