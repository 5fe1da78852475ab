"""Helpers shared by the tests: a real worker subprocess, waiting on batches, sample data."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cli.services import stop_all, wait_for_log

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

DATA = Path(__file__).parent / "data"

# The receipt forms the document benchmark measures, built the same way for the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import document_forms as document_forms  # noqa: E402  (re-exported for the tests)
import webhook_receiver as webhook_receiver  # noqa: E402  (re-exported for the tests)


class WorkerProcess:
    """A real `receiptflow worker` subprocess (its own process group, so kill -9 takes all);
    ``args=["trainer"]`` runs the trainer instead."""

    def __init__(self, env: dict[str, str], log: Path, concurrency: int = 1,
                 engine: str = "ocr", args: list[str] | None = None) -> None:
        self.log = log
        self._fh = log.open("wb")
        args = args or ["worker", "--engine", engine, "-c", str(concurrency)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args, "--loglevel", "info"],
            env={**os.environ, **env}, stdout=self._fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        wait_for_log(self.proc, self.log, " ready.", timeout)

    def kill_pool_child(self) -> None:
        """SIGKILL the prefork child running the task; the worker's main process survives."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        pids = [int(p) for p in children.split()]
        assert pids, "the worker has no pool child"
        for pid in pids:
            os.kill(pid, 9)

    def kill9(self) -> None:
        os.killpg(self.proc.pid, 9)
        self.proc.wait()

    def stop(self) -> None:
        stop_all([self.proc], timeout=30)
        self._fh.close()


def wait_for_batch(client: FlaskClient, batch_id: int, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/batches/{batch_id}").get_json()
        if body["finished"]:
            return body
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_id} not finished after {timeout} s: {body.get('counts')}")


def token_client(app: Flask, token: str | None) -> FlaskClient:
    """A test client whose every request carries `Authorization: Bearer <token>`."""
    client = app.test_client()
    if token:
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def receipt_pdf(*rows: str) -> bytes:
    """A digital PDF receipt, one printed row per argument: "WORDS  AMOUNT" puts the amount
    in its own box at the right (the worker reads the text layer, as of a till's e-mailed
    receipt, with no OCR)."""
    lines = []
    for i, row in enumerate(rows):
        words, _, amount = row.rpartition("  ")
        y = 20 + 30 * i
        lines.append({"box": [20, y, 20 + 11 * len(words or row), y + 20], "text": words or row})
        if words:
            lines.append({"box": [380, y, 380 + 11 * len(amount), y + 20], "text": amount})
    return document_forms.digital_pdf([((480, 40 + 30 * len(rows)), lines)])


# A receipt whose line items add up to 11.00 and, with ``total``, its total and payment.
RECEIPT_HEADER = ("KEDAI RUNCIT MAJU SDN BHD", "NO 5, JALAN BUKIT 2,", "81100 JOHOR BAHRU, JOHOR.",
                  "DATE: 25/12/2018", "DESCRIPTION QTY AMOUNT", "TEH TARIK 2 X 1.50  3.00",
                  "NASI LEMAK  8.00")


def itemised_receipt(total: str) -> bytes:
    change = f"{20 - float(total):.2f}"
    return receipt_pdf(*RECEIPT_HEADER, f"TOTAL RM  {total}", "CASH  20.00", f"CHANGE  {change}")


def sample_images(n: int) -> list[Path]:
    return sorted(DATA.glob("sroie-*.jpg"))[:n]


def empty_broker(services: dict[str, str]) -> None:
    """Drop this test run's queued tasks (keys under its broker prefix), nobody else's."""
    import redis

    client = redis.Redis.from_url(services["REDIS_URL"])
    keys = list(client.scan_iter(match=services["RECEIPTFLOW_BROKER_KEY_PREFIX"] + "*"))
    if keys:
        client.delete(*keys)


def clear_leftovers(services: dict[str, str]) -> None:
    """Before a test starts a worker: drop the queued tasks of earlier tests and fail the
    receipts they left unfinished. Otherwise the new worker's reconciler sends those receipts
    again (their broker job is gone, their lease runs out) and the test counts work that is
    not its own."""
    from sqlalchemy import update

    from shared.db.models import Receipt, ReceiptStatus
    from shared.db.session import session_scope
    from shared.recovery import UNFINISHED

    empty_broker(services)
    with session_scope() as session:
        session.execute(update(Receipt).where(Receipt.status.in_(UNFINISHED)).values(
            status=ReceiptStatus.FAILED, lease_expires_at=None,
            error="left unfinished by an earlier test"))
