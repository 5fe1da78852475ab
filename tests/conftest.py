"""Test services: the real PostgreSQL and Redis on 127.0.0.1 when reachable (CI), otherwise a
SQLite file and an embedded Redis-compatible server, so a newcomer's machine works too.

Set RECEIPTFLOW_TEST_REQUIRE_SERVICES=1 (CI does) to fail instead of falling back.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import WorkerProcess, clear_leftovers, empty_broker, token_client

PG_ADMIN_URL = os.environ.get("RECEIPTFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("RECEIPTFLOW_TEST_REDIS", "redis://127.0.0.1:6379/15")
REQUIRE = os.environ.get("RECEIPTFLOW_TEST_REQUIRE_SERVICES") == "1"


def _postgres_schema_url() -> tuple[str, str] | None:
    """A fresh schema in the test database, so runs never see each other's rows."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=2, autocommit=True) as conn:
            schema = f"rf_test_{uuid.uuid4().hex[:10]}"
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError:
        return None
    base = PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}?options=-csearch_path%3D{schema}", schema


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, connect_timeout=2, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


_USED: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _USED:
        terminalreporter.write_line(
            f"test services: database={_USED['database']}, redis={_USED['redis']}"
        )


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    from cli.services import EmbeddedRedis, redis_reachable

    data_dir = tmp_path_factory.mktemp("receiptflow-data")
    pg = _postgres_schema_url()
    if pg is None and REQUIRE:
        pytest.exit(f"PostgreSQL at {PG_ADMIN_URL} is required but not reachable", 2)
    database_url = pg[0] if pg else f"sqlite:///{data_dir / 'test.db'}"

    embedded = None
    redis_url = REDIS_TEST_URL
    if not redis_reachable(redis_url):
        if REQUIRE:
            pytest.exit(f"Redis at {redis_url} is required but not reachable", 2)
        embedded = EmbeddedRedis(data_dir / "redis")
        redis_url = embedded.start() + "/0"

    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RECEIPTFLOW_DATA_DIR": str(data_dir),
        # Every broker key of this run carries its own prefix, so two test runs sharing one
        # Redis never take each other's tasks.
        "RECEIPTFLOW_BROKER_KEY_PREFIX": f"rf-test-{uuid.uuid4().hex[:10]}:",
        # Short, so the kill -9 test sees the lost task redelivered quickly.
        "RECEIPTFLOW_VISIBILITY_TIMEOUT_S": "8",
        # Short, so receipts lost by the broker or a killed worker come back quickly.
        "RECEIPTFLOW_LEASE_S": "10",
        "RECEIPTFLOW_TASK_MAX_RETRIES": "2",
        "RECEIPTFLOW_MAX_FILE_MB": "2",
        "RECEIPTFLOW_MAX_IMAGE_PIXELS": "20000000",
        "RECEIPTFLOW_MAX_PAGES": "5",
        "RECEIPTFLOW_OCR_THREADS": "1",
        "RECEIPTFLOW_SECRET_KEY": "tests-" + uuid.uuid4().hex,
        # The suite logs in many times from one address; tests/web/test_hardening.py checks
        # the limits with its own low ones.
        "RECEIPTFLOW_LOGIN_LIMIT_PER_ADDRESS": "100000 per minute",
        "RECEIPTFLOW_LOGIN_LIMIT_PER_ACCOUNT": "100000 per minute",
    }
    os.environ.update(env)
    from shared.broker import reset_celery_app
    from shared.config import reset_settings_cache
    from shared.db.migrate import upgrade

    reset_settings_cache()
    reset_celery_app()
    upgrade(database_url)
    _USED["database"] = "postgresql" if pg else "sqlite (fallback)"
    _USED["redis"] = "embedded valkey (fallback)" if embedded else redis_url
    yield env
    from shared.db.session import get_engine

    get_engine(database_url).dispose()
    if pg:
        _drop_schema(pg[1])
    if embedded:
        embedded.stop()


@pytest.fixture(scope="session")
def app(services: dict[str, str]):  # type: ignore[no-untyped-def]
    from web import create_app

    return create_app({"TESTING": True})


TEST_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def accounts(services: dict[str, str]) -> dict[str, dict[str, str]]:
    """An admin and a reviewer, each with an API token: {role: {username, password, token}}."""
    from shared.db.session import session_scope
    from web.auth.tokens import create_token
    from web.auth.users import create_user

    out = {}
    with session_scope() as session:
        for role in ("admin", "reviewer"):
            user = create_user(session, f"test-{role}", TEST_PASSWORD, role)
            _row, token = create_token(session, user, "tests")
            out[role] = {"username": user.username, "password": TEST_PASSWORD, "token": token}
    return out


@pytest.fixture
def client(app, accounts):  # type: ignore[no-untyped-def]
    """Authenticated as an admin by an API token (so no CSRF token is needed)."""
    return token_client(app, accounts["admin"]["token"])


@pytest.fixture
def reviewer_client(app, accounts):  # type: ignore[no-untyped-def]
    return token_client(app, accounts["reviewer"]["token"])


@pytest.fixture
def anon_client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def empty_queue(services: dict[str, str]) -> None:
    """Drop tasks left by earlier tests, so a worker here only sees this test's receipts."""
    clear_leftovers(services)


@pytest.fixture
def start_worker(services: dict[str, str], empty_queue: None,
                 tmp_path: Path) -> Iterator[object]:
    workers: list[WorkerProcess] = []

    def start(concurrency: int = 1, engine: str = "ocr",
              env: dict[str, str] | None = None) -> WorkerProcess:
        w = WorkerProcess({**services, **(env or {})}, tmp_path / f"worker-{len(workers)}.log",
                          concurrency, engine)
        workers.append(w)
        return w

    yield start
    for w in workers:
        w.stop()


@pytest.fixture(scope="session")
def tiny_internvl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight InternVL checkpoint, built offline, loaded via from_pretrained."""
    pytest.importorskip("torch")
    from shared.engines.internvl.random_model import build

    return build(tmp_path_factory.mktemp("tiny-internvl"), size="tiny")


@pytest.fixture
def internvl_settings(tiny_internvl: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Settings (and environment, for subprocesses) that serve the tiny model on the CPU."""
    from shared.config import Settings, reset_settings_cache

    env = {
        "RECEIPTFLOW_INTERNVL_MODEL": str(tiny_internvl),
        "RECEIPTFLOW_INTERNVL_PRECISION": "fp32",
        "RECEIPTFLOW_INTERNVL_DEVICE": "cpu",
        "RECEIPTFLOW_INTERNVL_MAX_NEW_TOKENS": "16",
        "RECEIPTFLOW_INTERNVL_BATCH_SIZE": "4",
        "RECEIPTFLOW_ADAPTER_CHECK_S": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_settings_cache()
    yield Settings(), env
    reset_settings_cache()


@pytest.fixture(scope="module")
def isolated_services(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A database (and broker prefix) of the module's own, for tests that would disturb other
    tests' rows (the API fuzzer deletes what it finds). The shared ones are restored after."""
    from shared.broker import reset_celery_app
    from shared.config import reset_settings_cache
    from shared.db.migrate import upgrade
    from shared.db.session import get_engine

    pg = _postgres_schema_url() if services["DATABASE_URL"].startswith("postgresql") else None
    data_dir = tmp_path_factory.mktemp("isolated")
    url = pg[0] if pg else f"sqlite:///{data_dir / 'isolated.db'}"
    env = {"DATABASE_URL": url, "RECEIPTFLOW_DATA_DIR": str(data_dir),
           "RECEIPTFLOW_BROKER_KEY_PREFIX": f"rf-isolated-{uuid.uuid4().hex[:10]}:"}
    os.environ.update(env)
    reset_settings_cache()
    reset_celery_app()
    upgrade(url)
    try:
        yield {**services, **env}
    finally:
        os.environ.update({k: services[k] for k in env})
        reset_settings_cache()
        reset_celery_app()
        get_engine(url).dispose()
        if pg:
            _drop_schema(pg[1])
        empty_broker({**services, **env})
