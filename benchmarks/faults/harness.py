"""Servers and product processes that a fault scenario can kill: a PostgreSQL cluster of its own
(Debian's ``initdb``/``postgres`` on a temp dir and a free port), a Redis server of its own, and
real ``receiptflow web`` and ``receiptflow worker`` processes pointed at them.

Nothing here is a stand-in: the scenarios kill these processes with SIGKILL and start them again
as an operator's supervisor would.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
ADMIN, ADMIN_PASSWORD = "fault", "fault-suite-password"  # the account Product.setup makes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate, timeout: float, what: str, poll: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise TimeoutError(f"{what} after {timeout:.0f} s")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _killpg(proc: subprocess.Popen[bytes], sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def postgres_bin(name: str) -> str:
    """Debian keeps the server programs out of PATH, under /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name) or next(iter(sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise FileNotFoundError(f"{name} not found: install PostgreSQL's server package")
    return found


class PostgresCluster:
    """A throwaway cluster in a temp dir of its own. The server refuses to run as root, so under
    root it runs as the ``postgres`` system user, in a directory that user owns (outside any
    root-only temp dir)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rf-pg-"))
        self.dir = self.root / "data"
        self.port = free_port()
        self.log = self.root / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres")
        done = subprocess.run([*self._as, postgres_bin("initdb"), "-D", str(self.dir), "-U",
                               "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [*self._as, postgres_bin("postgres"), "-D", str(self.dir), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
             "-c", "max_connections=200", "-c", "fsync=off"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(lambda: self._ready(), 60, "PostgreSQL did not start")

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"postgres exited: {self.log.read_text()[-2000:]}")
        return subprocess.run([postgres_bin("pg_isready"), "-h", "127.0.0.1", "-p",
                               str(self.port)], capture_output=True).returncode == 0

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend: a crash, recovered from at the next start."""
        if self.proc is not None:
            _killpg(self.proc, signal.SIGKILL)
            self.proc.wait()
            self.proc = None
        # Backends that outlive their postmaster keep the port and shared memory: wait them out.
        _wait(lambda: not _port_open(self.port), 30, "PostgreSQL port still open")
        (self.dir / "postmaster.pid").unlink(missing_ok=True)

    def stop(self) -> None:
        if self.proc is not None:
            _killpg(self.proc, signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None


class RedisServer:
    """redis-server on a free port. ``persist`` turns on the append-only file, so a restart after
    SIGKILL keeps the queues; without it a restart starts empty, as Redis without disk does."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, persist: bool = True) -> None:
        if not persist:
            for leftover in self.dir.glob("*"):
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--dir", str(self.dir),
             "--appendonly", "yes" if persist else "no", "--appendfsync", "always",
             "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(lambda: _port_open(self.port), 30, "Redis did not start")

    def kill(self) -> None:
        if self.proc is not None:
            _killpg(self.proc, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    stop = kill


class Process:
    """A `receiptflow` subprocess in its own process group, logging to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        fh = self.log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "cli.main", *self.args], env=self.env,
                                     stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT,
                                     start_new_session=True)
        fh.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group: the main process and every pool child."""
        if self.proc is not None:
            _killpg(self.proc, signal.SIGKILL)
            self.proc.wait()

    def kill_child(self) -> int:
        """SIGKILL one child of the main process (a prefork pool process); returns its pid."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        pid = int(children.split()[0])
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self, timeout: float = 30) -> None:
        if self.alive():
            assert self.proc is not None
            _killpg(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class Product:
    """The product's processes on one machine, against the given database and broker."""

    def __init__(self, root: Path, database_url: str, redis_url: str,
                 extra_env: dict[str, str] | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "RECEIPTFLOW_DATA_DIR": str(root / "data"),
            "RECEIPTFLOW_SECRET_KEY": "fault-suite-" + os.urandom(8).hex(),
            "RECEIPTFLOW_COOKIE_SECURE": "false",
            "RECEIPTFLOW_OCR_THREADS": "1",
            **(extra_env or {}),
        }
        self.web = Process(["web", "--port", str(self.port)], self.env, root / "web.log")
        self.workers: list[Process] = []
        self.token = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "cli.main", *args], env=self.env, cwd=ROOT,
                              input=stdin, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"receiptflow {' '.join(args)}: {done.stderr[-2000:]}")
        return done.stdout

    def setup(self) -> None:
        """Schema, an admin and its API token."""
        self.cli("db", "upgrade")
        self.cli("users", "create-admin", ADMIN, "--password-stdin", stdin=f"{ADMIN_PASSWORD}\n")
        self.token = self.cli("tokens", "create", ADMIN, "--name", "faults").strip()

    def start_web(self) -> None:
        self.web.start()
        _wait(lambda: _port_open(self.port), 60, "web did not start")

    def start_worker(self, concurrency: int = 2) -> Process:
        n = len(self.workers)
        worker = Process(["worker", "--engine", "ocr", "-c", str(concurrency)], self.env,
                         self.root / f"worker-{n}.log").start()
        self.workers.append(worker)
        # The worker is up once its log says so; a worker started while a server is down may
        # take a while (it retries its connection).
        _wait(lambda: b" ready." in worker.log.read_bytes() or not worker.alive(), 120,
              "worker did not start")
        if not worker.alive():
            raise RuntimeError(f"worker exited: {worker.log.read_text()[-3000:]}")
        return worker

    def session(self) -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.token}"
        return s

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        self.web.stop()


@contextmanager
def cluster(root: Path) -> Iterator[tuple[PostgresCluster, RedisServer]]:
    pg, rd = PostgresCluster(), RedisServer(root)
    try:
        pg.start()
        rd.start(persist=True)
        yield pg, rd
    finally:
        rd.stop()
        pg.remove()
