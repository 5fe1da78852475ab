"""Browser tests: the real web server, OCR worker and trainer as subprocesses, driven through
Debian's chromium with Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from helpers import WorkerProcess

from cli.services import stop_all

CHROMIUM = os.environ.get("RECEIPTFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Offline machines: without these chromium keeps retrying Google's services.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app_env(services: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **services,
            # The test server is plain HTTP: a Secure-only cookie would never come back.
            "RECEIPTFLOW_COOKIE_SECURE": "false",
            # Workers look for a newly promoted version before every batch.
            "RECEIPTFLOW_ADAPTER_CHECK_S": "0"}


class WebServer:
    """`receiptflow web --port N` in its own process group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "web", "--port", str(self.port)],
            env=env, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"`receiptflow web` did not answer:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        stop_all([self.proc], timeout=20)
        self._fh.close()


@pytest.fixture(scope="module")
def live_server(services: dict[str, str],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    server = WebServer(_app_env(services), tmp_path_factory.mktemp("web") / "web.log")
    yield server
    server.stop()


@pytest.fixture
def pipeline(services: dict[str, str], empty_queue: None, tmp_path: Path) -> Iterator[None]:
    """A real OCR worker and a real trainer, fed by the live server's queues."""
    env = _app_env(services)
    worker = WorkerProcess(env, tmp_path / "worker.log", 1, "ocr")
    try:
        trainer = WorkerProcess(env, tmp_path / "trainer.log", args=["trainer"])
    except Exception:
        worker.stop()
        raise
    yield
    trainer.stop()
    worker.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the journey's screenshots go: $RECEIPTFLOW_SCREENSHOTS, else this test's tmp dir."""
    folder = Path(os.environ.get("RECEIPTFLOW_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def make_server(services: dict[str, str], tmp_path: Path) -> Iterator[object]:
    """Start a web server with extra settings (stopped after the test)."""
    started: list[WebServer] = []

    def start(env: dict[str, str]) -> WebServer:
        server = WebServer({**_app_env(services), **env}, tmp_path / f"web-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def make_worker(services: dict[str, str], empty_queue: None, tmp_path: Path) -> Iterator[object]:
    """Start an OCR worker with extra settings (stopped after the test)."""
    started: list[WorkerProcess] = []

    def start(env: dict[str, str]) -> WorkerProcess:
        worker = WorkerProcess({**_app_env(services), **env},
                               tmp_path / f"worker-{len(started)}.log", 1, "ocr")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
