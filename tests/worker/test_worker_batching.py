"""A real worker that batches receipts across tasks: fewer engine calls than receipts, a broken
file fails alone, and a kill -9 mid-batch still stores every receipt exactly once."""

from __future__ import annotations

import io
import random
import re
import time
import uuid

import pytest
from helpers import sample_images, wait_for_batch
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from shared.config import get_settings
from shared.db.models import Extraction, Receipt, ReceiptStatus
from shared.db.session import session_scope
from shared.documents.images import DocumentRejected, decode
from shared.storage import LocalStorage

pytestmark = pytest.mark.slow

BATCHING = {"RECEIPTFLOW_WORKER_BATCH_SIZE": "8", "RECEIPTFLOW_WORKER_BATCH_WAIT_MS": "1500"}
BATCH_LINE = re.compile(rb"inferred batch of (\d+) receipts in [\d.]+s")


def _unique_jpeg() -> bytes:
    """A receipt-like image no other test stores (storage is shared, keyed by content)."""
    rng = random.Random(uuid.uuid4().int)
    img = Image.new("RGB", (400, 700), "white")
    draw = ImageDraw.Draw(img)
    for y in range(20, 680, 30):
        draw.rectangle([20, y, rng.randint(60, 380), y + 12], fill=(rng.randint(0, 90),) * 3)
    out = io.BytesIO()
    img.save(out, format="JPEG")
    return out.getvalue()


def _post(client, files: list[tuple[bytes, str]]) -> dict:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v1/batches",
                       data={"files": [(io.BytesIO(data), name) for data, name in files]},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _engine_batches(log_bytes: bytes) -> list[int]:
    return [int(n) for n in BATCH_LINE.findall(log_bytes)]


def test_batching_worker_fewer_engine_calls_and_bad_file_fails_alone(
        client, start_worker) -> None:  # type: ignore[no-untyped-def]
    good = [(p.read_bytes(), p.name) for p in sample_images(5)]
    body = _post(client, [*good, (_unique_jpeg(), "broken.jpg")])
    broken_id = body["receipts"][-1]["id"]
    # Break the stored file after upload, as a failing disk would; the worker finds it so.
    with session_scope() as session:
        key = session.get(Receipt, broken_id).storage_key
    path = LocalStorage(get_settings().resolved_storage_dir).path(key)
    path.write_bytes(path.read_bytes()[:600])
    with pytest.raises(DocumentRejected) as rejected:
        decode(path.read_bytes(), get_settings().max_image_pixels)

    worker = start_worker(env=BATCHING)
    batch = wait_for_batch(client, body["id"], timeout=120)
    assert batch["counts"]["done"] == 5 and batch["counts"]["failed"] == 1, batch["counts"]
    with session_scope() as session:
        assert session.get(Receipt, broken_id).error == str(rejected.value)
    # Where a batch outlasts the suite's 8 s visibility timeout, Redis hands its tasks out again
    # to this worker: they are answered "in hand", and the engine still reads each receipt once.
    calls = _engine_batches(worker.log.read_bytes())
    assert sum(calls) == 5 and len(calls) < 5, calls


def _extractions() -> dict[int, int]:
    with session_scope() as session:
        return dict(session.execute(
            select(Extraction.receipt_id, func.count()).group_by(Extraction.receipt_id)).all())


def test_batching_worker_killed_mid_batch_loses_nothing(client, start_worker) -> None:  # type: ignore[no-untyped-def]
    body = _post(client, [(p.read_bytes(), p.name) for p in sample_images(4)])
    ids = [r["id"] for r in body["receipts"]]
    first = start_worker(env=BATCHING)
    deadline = time.monotonic() + 60
    while True:  # the whole batch is claimed together, before its one engine call
        with session_scope() as session:
            statuses = {session.get(Receipt, i).status for i in ids}
        if statuses == {ReceiptStatus.PROCESSING}:
            break
        assert time.monotonic() < deadline, f"never saw the batch in progress: {statuses}"
        time.sleep(0.02)
    first.kill9()
    assert not (set(_extractions()) & set(ids)), "the batch finished before the kill"

    # Redis hands unacked messages out again once older than the visibility timeout (8 s
    # here). A starting worker sweeps for them at once, then only every ~100 s (kombu's
    # throttle): start it after the timeout has passed.
    time.sleep(9)
    second = start_worker(env=BATCHING)
    batch = wait_for_batch(client, body["id"], timeout=120)
    assert batch["counts"]["done"] == 4, batch["counts"]
    counts = _extractions()
    assert [counts.get(i) for i in ids] == [1, 1, 1, 1]
    with session_scope() as session:
        assert all(session.get(Receipt, i).attempts >= 2 for i in ids)
    assert _engine_batches(second.log.read_bytes())
