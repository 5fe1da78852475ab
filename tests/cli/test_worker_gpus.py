"""`receiptflow worker --gpus`: one worker process per card, each seeing only its card, a dead
one started again, all stopped by one SIGTERM. Real processes; on a machine without GPUs the
cards are named (a worker that sees a card it cannot open serves on the CPU, which is what the
OCR engine does anyway), so the supervision is what is tested here; tests/gpu runs the engine
on real cards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import empty_broker

from cli.gpus import detect, resolve

pytestmark = pytest.mark.slow


def _children(pid: int) -> dict[int, str]:
    """The supervisor's worker children: pid -> their CUDA_VISIBLE_DEVICES."""
    out = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            env = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in env:
            if item.startswith(b"CUDA_VISIBLE_DEVICES="):
                out[int(child)] = item.split(b"=", 1)[1].decode()
    return out


def _wait(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(what)


def test_one_worker_per_gpu_restarted_and_stopped_together(isolated_services,
                                                           tmp_path: Path) -> None:
    # A database and broker prefix of its own: these workers are killed, and whatever receipts
    # of other tests their reconcilers took up must not be left behind for the next tests.
    services = isolated_services
    empty_broker(services)
    log = tmp_path / "gpus.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "worker", "--engine", "ocr", "--gpus", "0,1"],
            env={**os.environ, **services}, stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        children = _wait(lambda: len(_children(proc.pid)) == 2 and _children(proc.pid), 60,
                         f"two workers never started:\n{log.read_text()[-2000:]}")
        assert sorted(children.values()) == ["0", "1"]
        _wait(lambda: log.read_text().count(" ready.") >= 2, 90,
              f"the workers never got ready:\n{log.read_text()[-3000:]}")

        # Card 1's worker dies (its whole process group, as the OOM killer might): it comes
        # back on card 1, and card 0's worker is untouched.
        dead = next(pid for pid, card in children.items() if card == "1")
        os.killpg(dead, signal.SIGKILL)
        again = _wait(lambda: (now := _children(proc.pid)) and dead not in now and len(now) == 2
                      and now, 30, f"the dead worker was not started again:\n"
                      f"{log.read_text()[-2000:]}")
        assert sorted(again.values()) == ["0", "1"]
        assert next(pid for pid, card in again.items() if card == "0") in children
        assert "worker-gpu1 exited" in log.read_text()

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        for pid in again:
            assert not Path(f"/proc/{pid}").exists() or \
                Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_gpu_lists_are_checked() -> None:
    import click

    assert resolve("0,1") == ["0", "1"]
    assert resolve(" GPU-8f2a-11aa ,3") == ["GPU-8f2a-11aa", "3"]
    for bad in ("", "0,0", "zero", "0;rm -rf /"):
        with pytest.raises(click.BadParameter):
            resolve(bad)
    if not detect():  # this machine has no GPU: `all` says so instead of starting nothing
        with pytest.raises(click.BadParameter, match="no GPU found"):
            resolve("all")
