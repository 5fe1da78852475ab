"""Running the product's processes: `up` (everything on one machine), `web`, `worker`, `trainer`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from cli.common import checked_settings
from shared.config import reset_settings_cache


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def web(host: str, port: int) -> None:
    """Serve the web UI and API (threaded; use gunicorn 'web:create_app()' in production)."""
    from werkzeug.serving import run_simple

    from shared.config import ConfigError
    from web import create_app

    checked_settings()
    try:
        app = create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command()
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
@click.option("--gpus", default=None,
              help="One worker process per GPU: 'all', or indices (or UUIDs) such as 0,1. "
                   "Each sees only its card; one that dies is started again; SIGTERM stops all.")
def worker(engine: str | None, concurrency: int, pool: str, batch_size: int | None,
           batch_wait_ms: float | None, loglevel: str, gpus: str | None) -> None:
    """Run a Celery worker for one engine's queue (or one per GPU, with --gpus)."""
    from shared.engines import ENGINE_NAMES
    from shared.queues import queue_for_engine

    settings = checked_settings()
    engine = engine or settings.engine
    if engine not in ENGINE_NAMES:
        raise click.BadParameter(f"choose one of {sorted(ENGINE_NAMES)}", param_hint="--engine")
    if gpus is not None:
        from cli import gpus as per_gpu

        args = ["--engine", engine, "-c", str(concurrency), "--pool", pool,
                "--loglevel", loglevel]
        if batch_size is not None:
            args += ["--batch-size", str(batch_size)]
        if batch_wait_ms is not None:
            args += ["--batch-wait-ms", str(batch_wait_ms)]
        per_gpu.run_per_gpu(per_gpu.resolve(gpus), args, dict(os.environ))
        return
    if batch_size is None:
        # The GPU engine is only fast on big batches; the CPU one gains nothing from them.
        explicit = "worker_batch_size" in settings.model_fields_set
        if engine == "internvl" and not explicit:
            from shared.engines.internvl.memory import batch_size as internvl_batch

            batch_size = internvl_batch(settings)
        else:
            batch_size = settings.worker_batch_size
    if batch_wait_ms is None:
        batch_wait_ms = settings.worker_batch_wait_ms
    # Task bodies read these from the settings, like every other option.
    os.environ["RECEIPTFLOW_WORKER_BATCH_SIZE"] = str(batch_size)
    os.environ["RECEIPTFLOW_WORKER_BATCH_WAIT_MS"] = str(batch_wait_ms)
    reset_settings_cache()
    checked_settings()
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
    from shared.queues import WEBHOOK_QUEUE
    from worker.tasks import app

    app.worker_main([
        "worker", "-Q", f"{queue_for_engine(engine)},{WEBHOOK_QUEUE}", "-c", str(concurrency),
        "-P", pool,
        "-n", f"{engine}-%h-{os.getpid()}", "--loglevel", loglevel, "--without-gossip",
        "--without-mingle", *extra,
    ])


@click.command()
@click.option("--concurrency", "-c", default=1, show_default=True, type=int)
@click.option("--loglevel", default="info", show_default=True)
def trainer(concurrency: int, loglevel: str) -> None:
    """Run the trainer: a Celery worker on the `training` queue (one run at a time per GPU)."""
    from shared.queues import TRAINING_QUEUE

    checked_settings()
    from trainer.tasks import app

    app.worker_main([
        "worker", "-Q", TRAINING_QUEUE, "-c", str(concurrency), "-P", "solo",
        "-n", f"trainer-%h-{os.getpid()}", "--loglevel", loglevel, "--without-gossip",
        "--without-mingle",
    ])


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


@click.command()
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--concurrency", default=1, show_default=True, type=int)
def up(port: int, host: str, concurrency: int) -> None:
    """Run everything on this machine: database, broker, one worker, the trainer, the web
    server; a process that exits by itself is started again."""
    from cli.services import EmbeddedRedis, Supervisor, redis_reachable
    from shared.db.migrate import upgrade

    settings = checked_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # `up` serves plain HTTP, where a browser would not send back a Secure-only login cookie.
    env.setdefault("RECEIPTFLOW_COOKIE_SECURE", "false")
    if not settings.secret_key:
        if not _loopback(host):
            raise click.ClickException(
                f"--host {host} serves other machines: set RECEIPTFLOW_SECRET_KEY (e.g. to the "
                "output of `python -c 'import secrets; print(secrets.token_hex(32))'`)")
        env["RECEIPTFLOW_SECRET_KEY"] = _local_secret_key(settings.data_dir)
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
    children = Supervisor(env, log=lambda line: click.echo(line, err=True))
    children.start("worker", ["worker", "--concurrency", str(concurrency)])
    # Training runs started from the UI (on the CPU: the OCR engine's learned extractor).
    children.start("trainer", ["trainer"])
    children.start("web", ["web", "--host", host, "--port", str(port)])
    click.echo(f"ReceiptFlow is up: http://{host}:{port}/  (Ctrl-C stops it)")
    # SIGTERM (a service manager, `kill`) and SIGINT both stop the children cleanly.
    try:
        children.run("stopping...")
    finally:
        if broker is not None:
            broker.stop()
    sys.exit(0)


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_secret_key(data_dir: Path) -> str:
    """A key made once and kept in the data dir, readable by its owner only, so log-ins survive
    a restart of `up`."""
    import secrets

    path = data_dir / "secret-key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32) + "\n")
    return path.read_text().strip()
