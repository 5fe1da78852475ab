"""The single-machine product as a newcomer runs it: `receiptflow up` with embedded defaults
(SQLite file, Redis-compatible server started for it), then `receiptflow submit`, then Ctrl-C."""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from helpers import sample_images

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"`receiptflow up` exited:\n{log.read_text()[-3000:]}"
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered:\n{log.read_text()[-3000:]}")


def _processes_using(data_dir: Path) -> list[int]:
    """Processes whose environment points at this data dir: what `up` started."""
    needle = f"RECEIPTFLOW_DATA_DIR={data_dir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and needle in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _child(up: int, command: str, missing_ok: bool = False) -> int | None:
    """The pid of `up`'s child running `receiptflow <command>` (not a pool process of it)."""
    for pid in Path(f"/proc/{up}/task/{up}/children").read_text().split():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[1:4] == [b"-m", b"cli.main", command.encode()]:
            return int(pid)
    assert missing_ok, f"no `{command}` process"
    return None


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_up_submit_and_stop(tmp_path: Path, stop: signal.Signals) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("RECEIPTFLOW_")}
    env |= {"RECEIPTFLOW_DATA_DIR": str(tmp_path / "data"), "RECEIPTFLOW_OCR_THREADS": "1"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "up.log"
    with log.open("wb") as fh:
        up = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--port", str(port)],
                              env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        _wait_http(f"{url}/health", up, log)
        assert (tmp_path / "data" / "receiptflow.db").exists()
        assert "embedded Redis-compatible server" in log.read_text()

        # First run: an admin to log in with, its password shown once and kept owner-only.
        secret = tmp_path / "data" / "initial-admin-password"
        password = secret.read_text().strip()
        assert f"log in as `admin` with password {password}" in log.read_text()
        assert secret.stat().st_mode & 0o077 == 0
        login = requests.Session()
        page = login.get(f"{url}/login", timeout=10).text
        csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        resp = login.post(f"{url}/login", data={"username": "admin", "password": password,
                                                "csrf_token": csrf}, timeout=10)
        assert resp.url.rstrip("/").endswith("/batches"), "the first admin cannot log in"

        # No secret key was set: `up` on loopback made one, kept owner-only.
        assert (tmp_path / "data" / "secret-key").stat().st_mode & 0o077 == 0

        # A child that dies is started again (the worker here, as the broker client once did).
        worker = _child(up.pid, "worker")
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while "worker exited with code" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        while _child(up.pid, "worker", missing_ok=True) in (None, worker):
            assert time.monotonic() < deadline, "the worker was not started again"
            time.sleep(0.5)

        cli = [sys.executable, "-m", "cli.main"]
        token = subprocess.run([*cli, "tokens", "create", "admin", "--name", "submit"], env=env,
                               capture_output=True, text=True, check=True,
                               timeout=60).stdout.strip()

        images = sample_images(2)
        out = subprocess.run(
            [*cli, "submit", *map(str, images), "--url", url, "--format", "csv",
             "--timeout", "180"],
            env={**env, "RECEIPTFLOW_TOKEN": token}, capture_output=True, text=True, timeout=240,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        rows = list(csv.DictReader(io.StringIO(out.stdout)))
        assert [r["file"] for r in rows] == [p.name for p in images]
        assert all(r["status"] == "done" and r["total"] for r in rows), rows
    finally:
        up.send_signal(stop)
        code = up.wait(timeout=60)
    assert code == 0, log.read_text()[-3000:]
    assert "stopping" in log.read_text()
    assert _processes_using(tmp_path / "data") == [], "`up` left processes behind"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/health", timeout=2)
