"""Fault scenarios: receipts in, one fault mid-batch, then count what became of every receipt.

Each scenario gets a database of its own in the suite's PostgreSQL cluster, an emptied Redis and
fresh product processes. A client uploads the receipts the way `receiptflow submit` does (an
``Idempotency-Key`` per batch, retried until the server answers), the fault is injected once
receipts are moving, the killed server or process is started again (as a supervisor would), and
after a recovery window every file the client submitted is looked up in the database:

- lost: a submitted file the system has no receipt for
- duplicated: a file stored as more than one receipt, or a receipt with more than one extraction
- stranded: a receipt still ``queued`` or ``processing`` when the window closed
- failed: a receipt marked ``failed`` (every file here is a good receipt, so any is a fault)
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from faults.harness import PostgresCluster, Process, Product, RedisServer

FINAL = ("done", "failed")
ROOT = Path(__file__).resolve().parents[2]
SROIE = Path(os.environ.get("RECEIPTFLOW_SROIE_DEV") or
             ROOT.parent / "shared" / "data" / "sroie-dev") / "images"

# Short timings, so recovery shows within minutes; every other setting is the product's default.
SUITE_ENV = {
    "RECEIPTFLOW_VISIBILITY_TIMEOUT_S": "60",
    "RECEIPTFLOW_LEASE_S": "30",
    "RECEIPTFLOW_RECONCILE_INTERVAL_S": "5",
}


def sample_images() -> list[Path]:
    """SROIE receipts when the data set is beside the checkout, else the tests' six."""
    found = sorted(SROIE.glob("*.jpg"))[:60]
    return found or sorted((ROOT / "tests" / "data").glob("sroie-*.jpg"))


@dataclass
class Context:
    """What a fault step can reach."""

    pg: PostgresCluster
    redis: RedisServer
    product: Product
    db_url: str
    worker: Process
    notes: list[str] = field(default_factory=list)
    # Uploads run in a thread for scenarios that hit the web mid-upload.
    upload_thread: threading.Thread | None = None

    def counts(self) -> Counter[str]:
        try:
            with psycopg.connect(self.db_url, connect_timeout=2) as conn:
                return Counter({s: n for s, n in conn.execute(
                    "SELECT status, count(*) FROM receipts GROUP BY status")})
        except psycopg.OperationalError:
            return Counter()

    def wait_moving(self, timeout: float = 300) -> None:
        """Until some receipts are finished and some are not: the fault lands mid-batch."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = self.counts()
            if c["done"] >= 2 and c["queued"] + c["processing"] > 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"receipts never got moving: {dict(self.counts())}")

    def wait_processing(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = self.counts()
            if c["processing"] >= 1 and c["done"] >= 1:
                return
            time.sleep(0.05)
        raise TimeoutError(f"no receipt was processing: {dict(self.counts())}")


@dataclass
class Scenario:
    name: str
    receipts: int
    fault: Callable[[Context], None]
    batch_size: int = 10  # files per upload request
    concurrent_uploads: bool = False  # upload while the fault runs (the web is the victim)
    stagger_s: float = 0.25  # concurrent uploads start this far apart


@dataclass
class Row:
    scenario: str
    receipts: int
    done: int = 0
    failed: int = 0
    lost: int = 0
    duplicated: int = 0
    stranded: int = 0
    recovery_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the faults ------------------------------------------------------------------------------


def kill_worker(ctx: Context) -> None:
    ctx.wait_processing()
    ctx.worker.kill()
    ctx.notes.append("worker SIGKILLed with receipts in hand; a new worker started")
    ctx.worker = ctx.product.start_worker()


def kill_pool_child(ctx: Context) -> None:
    ctx.wait_processing()
    pid = ctx.worker.kill_child()
    ctx.notes.append(f"pool child {pid} SIGKILLed")


def kill_redis(persist: bool) -> Callable[[Context], None]:
    def fault(ctx: Context) -> None:
        ctx.wait_moving()
        ctx.redis.kill()
        time.sleep(3)
        ctx.redis.start(persist=persist)
        ctx.notes.append("Redis SIGKILLed, restarted " +
                         ("from its append-only file" if persist else "empty"))
    return fault


def postgres_down(seconds: float) -> Callable[[Context], None]:
    def fault(ctx: Context) -> None:
        ctx.wait_moving()
        ctx.pg.kill()
        time.sleep(seconds / 2)
        ctx.notes.append(f"API during the outage: {_api_status(ctx)}")
        time.sleep(seconds / 2)
        ctx.pg.start()
        ctx.notes.append(f"PostgreSQL SIGKILLed, back after {seconds:g} s")
    return fault


def kill_web_mid_upload(ctx: Context) -> None:
    """Uploads are running (several clients at once): SIGKILL the web at a random moment, start
    it again; the clients retry with the same Idempotency-Key."""
    time.sleep(random.uniform(0.8, 2.5))  # while the staggered uploads are arriving
    ctx.product.web.kill()
    ctx.notes.append(f"web SIGKILLed mid-upload ({dict(ctx.counts())} stored by then)")
    time.sleep(2)
    ctx.product.start_web()


def _api_status(ctx: Context) -> str:
    try:
        r = ctx.product.session().get(f"{ctx.product.url}/api/v1/batches", timeout=10)
        return f"{r.status_code} {r.text[:160]!r}"
    except requests.RequestException as exc:
        return f"no answer ({type(exc).__name__})"


# --- the client -------------------------------------------------------------------------------


def upload(product: Product, files: list[Path], deadline_s: float = 300) -> list[int]:
    """One batch, sent until the server answers, always with the same Idempotency-Key (what
    `receiptflow submit` does): the receipt ids it was given."""
    key = str(uuid.uuid4())
    deadline = time.monotonic() + deadline_s
    last = ""
    while time.monotonic() < deadline:
        try:
            with product.session() as s:
                r = s.post(f"{product.url}/api/v1/batches", timeout=60,
                           headers={"Idempotency-Key": key},
                           files=[("files", (p.name, p.read_bytes(), "image/jpeg"))
                                  for p in files])
            if r.status_code in (200, 201):
                return [rec["id"] for rec in r.json()["receipts"]]
            last = f"{r.status_code} {r.text[:200]}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(1)
    raise RuntimeError(f"upload never accepted: {last}")


# --- one run ----------------------------------------------------------------------------------


def fresh_database(pg: PostgresCluster, name: str) -> str:
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg.url.rsplit("/", 1)[0] + f"/{name}"


def run(scenario: Scenario, pg: PostgresCluster, rd: RedisServer, root: Path,
        images: list[Path], env: dict[str, str], recovery_s: float) -> Row:
    db_url = fresh_database(pg, scenario.name.replace("-", "_"))
    redis.Redis.from_url(rd.url).flushall()
    product = Product(root / scenario.name, db_url, rd.url, env)
    product.setup()
    product.start_web()
    ctx = Context(pg, rd, product, db_url, product.start_worker())
    files = [images[i % len(images)] for i in range(scenario.receipts)]
    chunks = [files[i:i + scenario.batch_size] for i in range(0, len(files),
                                                               scenario.batch_size)]
    try:
        if scenario.concurrent_uploads:
            results: list[list[int]] = []
            def client(i: int, chunk: list[Path]) -> None:
                time.sleep(i * scenario.stagger_s)
                results.append(upload(product, chunk))

            threads = [threading.Thread(target=client, args=(i, c)) for i, c in enumerate(chunks)]
            for t in threads:
                t.start()
            scenario.fault(ctx)
            for t in threads:
                t.join()
        else:
            for chunk in chunks:
                upload(product, chunk)
            scenario.fault(ctx)
        fault_over = time.monotonic()
        _wait_final(ctx, recovery_s)
        _note_deaths(ctx)
        row = count(scenario, db_url, files, ctx.notes)
        row.recovery_s = round(time.monotonic() - fault_over, 1)
        return row
    finally:
        product.stop()


def _note_deaths(ctx: Context) -> None:
    """A worker that exited by itself is not restarted here (that would hide it): say why."""
    for w in ctx.product.workers:
        if w is not ctx.worker or w.alive():
            continue
        last = [ln for ln in w.log.read_text(errors="replace").splitlines()
                if "Unrecoverable" in ln or "Error" in ln][-1:]
        ctx.notes.append(f"{w.log.name} exited by itself: {' '.join(last)[:300]}")


def _wait_final(ctx: Context, window: float) -> None:
    deadline = time.monotonic() + window
    while time.monotonic() < deadline:
        c = ctx.counts()
        if c and c["queued"] + c["processing"] == 0:
            return
        time.sleep(1)


def count(scenario: Scenario, db_url: str, files: list[Path], notes: list[str]) -> Row:
    with psycopg.connect(db_url) as conn:
        receipts = conn.execute(
            "SELECT r.original_name, r.status, r.error, count(e.id) FROM receipts r "
            "LEFT JOIN extractions e ON e.receipt_id = r.id GROUP BY r.id").fetchall()
    row = Row(scenario.name, len(files), notes=list(notes))
    stored: Counter[str] = Counter(name for name, *_ in receipts)
    for name, wanted in Counter(p.name for p in files).items():
        row.lost += max(0, wanted - stored[name])  # the system forgot it
        row.duplicated += max(0, stored[name] - wanted)  # stored twice
    errors: Counter[str] = Counter()
    for _name, status, error, extractions in receipts:
        row.done += status == "done"
        row.failed += status == "failed"
        row.stranded += status not in FINAL
        row.duplicated += max(0, extractions - 1)  # extracted twice
        if status == "failed":
            errors[(error or "")[:160]] += 1
    row.notes += [f"failed x{n}: {e}" for e, n in errors.items()]
    return row


def table(receipts_scale: float = 1.0, outage_scale: float = 1.0) -> list[Scenario]:
    """The issue's table plus the web killed mid-upload and PostgreSQL down five minutes.
    ``receipts_scale`` and ``outage_scale`` shrink it for CI."""
    def n(k: int) -> int:
        return max(4, round(k * receipts_scale))

    def s(seconds: float) -> float:
        return max(5.0, seconds * outage_scale)

    return [
        Scenario("worker-kill9", n(40), kill_worker),
        Scenario("pool-child-kill9", n(40), kill_pool_child),
        Scenario("redis-kill9-aof", n(20), kill_redis(persist=True)),
        Scenario("redis-kill9-empty", n(20), kill_redis(persist=False)),
        Scenario("postgres-down-43s", n(30), postgres_down(s(43))),
        Scenario("postgres-down-13s", n(20), postgres_down(s(13))),
        Scenario("web-kill9-mid-upload", n(30), kill_web_mid_upload, batch_size=2,
                 concurrent_uploads=True),
        Scenario("postgres-down-5min", n(20), postgres_down(s(300))),
    ]
