"""Processing receipts: the worker's unit of work, free of Celery so it is easy to test.

A batch of ``(receipt_id, job_id)`` items goes through three steps, which the micro-batcher
(``worker/batching.py``) runs on three threads so the engine's model never waits for the CPU
work around it: ``prepare_batch`` (claim, load, decode, ``engine.prepare``), ``infer_batch``
(``engine.infer``: the GPU stage) and ``finish_batch`` (``engine.interpret``, then all results
written). ``process_receipt`` is a batch of one.

Idempotent by construction: the extraction row is keyed by the task's job id and written in the
same transaction that marks the receipt done, so a task delivered twice writes once.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from shared.broker import celery_app
from shared.config import Settings, get_settings
from shared.db.models import Extraction, Receipt, ReceiptPage, ReceiptStatus, utcnow
from shared.db.session import session_scope
from shared.documents import (
    RENDITION_TYPE,
    TEXT_LAYER,
    Document,
    DocumentRejected,
    Page,
    encode_page,
    read_document,
)
from shared.documents.images import decode
from shared.documents.lines import TextLine
from shared.engines.base import Engine, ExtractionResult, PageReading
from shared.fields import FieldSpec
from shared.finishing import receipts_finished
from shared.queues import TASK_READ_TEXT, queue_for_engine
from shared.recovery import interrupted
from shared.results import refresh_review_reasons
from shared.storage import Storage, StorageError, get_storage
from worker import leases
from worker.engines import engine_for
from worker.review_memory import sync_reviews
from worker.versions import sync_version

log = logging.getLogger(__name__)

Item = tuple[int, str]  # (receipt_id, job_id), as a task carries them


class Outcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    DUPLICATE = "duplicate"  # this job's result is already stored
    STALE = "stale"  # the receipt was re-queued under another job, or deleted
    IN_HAND = "in hand"  # this process is working on this job now: a redelivery of it


class PermanentError(Exception):
    """Retrying cannot help; the message is shown to the user on the receipt."""


@dataclass(frozen=True)
class _PageRef:
    number: int
    storage_key: str
    source: str
    lines: list[dict[str, Any]] | None  # the text layer, for pdf-text pages


@dataclass
class _Claim:
    engine: str
    fields: list[FieldSpec]
    storage_key: str | None  # the upload
    media_type: str
    pages: list[_PageRef]


@dataclass
class _Group:
    """The batch's receipts for one engine instance (engine name and field list)."""

    engine_name: str
    engine: Engine
    indices: list[int] = field(default_factory=list)
    prepared: Any = None
    inferred: Any = None
    error: Exception | None = None  # engine.prepare or infer raised: the group's tasks retry
    # What served the batch, read when it ran: an adapter switch may follow before the write.
    model_name: str = ""
    model_version: int | str | None = None
    seconds: float = 0.0


@dataclass
class PreparedBatch:
    items: list[Item]
    outcomes: list[Outcome | None]  # settled at claim time: STALE or DUPLICATE
    failures: dict[int, str]  # index -> why the file or image is unusable
    groups: list[_Group]


@dataclass
class _Row:
    """One receipt's final write."""

    index: int
    status: ReceiptStatus
    error: str | None
    extraction: dict[str, Any] | None  # Extraction's columns; a fresh row per write attempt
    pages: list[dict[str, Any]] = field(default_factory=list)  # page updates: number + columns


_pool: ThreadPoolExecutor | None = None


def _decode_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:  # only the batcher's stage-1 thread gets here with more than one item
        # PIL decodes with the GIL released: a few threads decode a batch in parallel.
        _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="decode")
    return _pool


def _claim_all(items: list[Item]) -> list[_Claim | Outcome | str]:
    """Mark the batch's receipts processing, each under a lease, in one transaction: a _Claim,
    the Outcome of a delivery with nothing to do, or why a claimed receipt must fail now.

    Each claim is an UPDATE guarded by the job id and an unfinished status, so a receipt the
    reconciler has just given a new job, or another delivery has just finished, is not taken.
    A job this process already has in hand (the broker handed it out again because a batch
    outlasted the visibility timeout, or twice in one batch) is not run a second time: the batch
    holding it writes it, or, if this process dies, its lease runs out and the reconciler sends
    it again.
    """
    settings = get_settings()
    now = utcnow()
    lease = now + timedelta(seconds=settings.lease_s)
    keeper = leases.keeper()
    in_hand: set[int] = set()  # indices into items
    with session_scope() as session:
        claimed = set()
        for index, (receipt_id, job_id) in enumerate(items):
            if keeper.holds(job_id) or job_id in claimed:
                in_hand.add(index)
                continue
            if session.execute(
                update(Receipt)
                .where(Receipt.id == receipt_id, Receipt.job_id == job_id,
                       Receipt.status.in_((ReceiptStatus.QUEUED, ReceiptStatus.PROCESSING)))
                .values(status=ReceiptStatus.PROCESSING, attempts=Receipt.attempts + 1,
                        lease_expires_at=lease, updated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount:
                claimed.add(job_id)
        receipts = {r.id: r for r in session.scalars(
            select(Receipt).where(Receipt.id.in_({rid for rid, _ in items}))
            .options(selectinload(Receipt.batch), selectinload(Receipt.pages)))}
    keeper.hold(claimed)
    claims: list[_Claim | Outcome | str] = []
    for index, (receipt_id, job_id) in enumerate(items):
        receipt = receipts.get(receipt_id)
        if index in in_hand:
            claims.append(Outcome.IN_HAND)
        elif job_id not in claimed:
            gone = receipt is None or receipt.job_id != job_id
            # A finished receipt's job is not claimed again: its result is stored.
            claims.append(Outcome.STALE if gone else Outcome.DUPLICATE)
        elif receipt.attempts > settings.max_attempts:
            # Delivered again and again because its worker keeps dying on it (a pool process
            # killed by the OOM killer, say): stop the loop.
            claims.append(interrupted(receipt.attempts - 1))
        else:
            claims.append(_Claim(
                engine=receipt.batch.engine,
                fields=[FieldSpec.model_validate(f) for f in receipt.batch.fields],
                storage_key=receipt.storage_key,
                media_type=receipt.media_type or "",
                pages=[_PageRef(p.number, p.storage_key, p.source,
                                p.lines if p.lines_source == TEXT_LAYER else None)
                       for p in receipt.pages],
            ))
    return claims


def _load(claim: _Claim, settings: Settings) -> Document | str:
    """The receipt's document (its stored pages), or the message a user can act on."""
    storage = get_storage()
    try:
        if claim.storage_key is None:
            raise PermanentError("the receipt has no stored file; upload it again")
        if not claim.pages:  # stored before pages were recorded: read the upload itself
            return read_document(_get(storage, claim.storage_key), settings.document_limits)
        pages = []
        for ref in claim.pages:
            image = decode(_get(storage, ref.storage_key), settings.max_image_pixels).image
            lines = ([TextLine.from_json(ln) for ln in ref.lines] if ref.lines is not None
                     else None)
            pages.append(Page(ref.number, image, lines, ref.source))
        return Document(claim.media_type, pages)
    except (DocumentRejected, PermanentError) as exc:
        return str(exc)


def _get(storage: Storage, key: str) -> bytes:
    try:
        return storage.get(key)
    except StorageError as exc:
        raise PermanentError(f"{exc}; upload the receipt again") from exc


def prepare_batch(items: list[Item]) -> PreparedBatch:
    """Stage 1: claim, load and decode, group by engine, ``engine.prepare``."""
    claims = _claim_all(items)
    batch = PreparedBatch(items, [c if isinstance(c, Outcome) else None for c in claims], {}, [])
    for i, ((receipt_id, job_id), claim) in enumerate(zip(items, claims, strict=True)):
        if isinstance(claim, Outcome):
            log.info("receipt %s job %s: %s, nothing to do", receipt_id, job_id, claim)
        elif isinstance(claim, str):
            batch.failures[i] = claim
    todo = [(i, c) for i, c in enumerate(claims) if isinstance(c, _Claim)]
    settings = get_settings()
    if len(todo) > 1:
        loaded = list(_decode_pool().map(lambda ic: _load(ic[1], settings), todo))
    else:
        loaded = [_load(c, settings) for _, c in todo]

    groups: dict[tuple[str, str], tuple[_Group, list[Document]]] = {}
    for (i, claim), image in zip(todo, loaded, strict=True):
        if isinstance(image, str):
            batch.failures[i] = image
            continue
        key = (claim.engine, json.dumps([f.model_dump() for f in claim.fields], sort_keys=True))
        if key not in groups:
            groups[key] = (_Group(claim.engine, engine_for(claim.engine, claim.fields)), [])
        group, images = groups[key]
        group.indices.append(i)
        images.append(image)
    for group, images in groups.values():
        try:
            group.prepared = group.engine.prepare(images)
        except Exception as exc:
            group.error = exc
        batch.groups.append(group)
    return batch


def infer_batch(batch: PreparedBatch) -> PreparedBatch:
    """Stage 2: each group's ``engine.infer`` (a group that fails keeps its error)."""
    for group in batch.groups:
        if group.error is not None:
            continue
        try:
            sync_version(group.engine)  # between batches: pick up a newly promoted adapter
            sync_reviews(group.engine)  # and the reviews made since it was trained
            group.model_name = group.engine.model_name
            group.model_version = group.engine.model_version
            started = time.perf_counter()
            group.inferred = group.engine.infer(group.prepared)
            group.seconds = time.perf_counter() - started
            log.info("inferred batch of %d receipts in %.2fs", len(group.indices), group.seconds)
        except Exception as exc:
            group.error = exc
        group.prepared = None  # free what prepare made (GPU tensors) before the next batch
    return batch


def _interpret(group: _Group) -> list[ExtractionResult]:
    if group.error is not None:
        raise group.error
    results = group.engine.interpret(group.inferred)
    if len(results) != len(group.indices):
        raise RuntimeError(f"engine {group.engine_name} gave {len(results)} results "
                           f"for {len(group.indices)} receipts")
    return results


def finish_batch(batch: PreparedBatch) -> list[Outcome | Exception]:
    """Stage 3: interpret each group's output, write every result; one outcome per item, or
    the exception that failed its whole group (the task retries)."""
    results: list[Outcome | Exception | None] = list(batch.outcomes)
    rows = [_Row(i, ReceiptStatus.FAILED, message, None) for i, message in batch.failures.items()]
    boxless: set[int] = set()
    for group in batch.groups:
        try:
            extracted = _interpret(group)
        except Exception as exc:
            for i in group.indices:
                results[i] = exc
            continue
        duration_ms = group.seconds * 1000 / len(extracted)  # each receipt's share of the call
        for i, result in zip(group.indices, extracted, strict=True):
            receipt_id, job_id = batch.items[i]
            rows.append(_Row(
                i, ReceiptStatus.FAILED if result.error else ReceiptStatus.DONE, result.error,
                {"receipt_id": receipt_id, "job_id": job_id, "engine": group.engine_name,
                 "model_name": group.model_name, "model_version_id": group.model_version,
                 "fields": {name: fv.to_json() for name, fv in result.fields.items()},
                 "raw_output": result.raw_output, "duration_ms": duration_ms},
                [_page_update(reading) for reading in result.pages]))
            # The OCR engine's own lines are in its raw output; other engines may give no boxes.
            if group.engine_name != "ocr" and any(
                    fv.value and not fv.box for fv in result.fields.values()):
                boxless.add(i)
    for i, outcome in _write(batch.items, rows).items():
        results[i] = outcome
        if outcome is Outcome.DONE and i in boxless:
            _request_text_lines(batch.items[i][0])
    # Only the jobs this batch claimed: one it found in hand is another batch's to release.
    leases.keeper().release(job for (_, job), settled in zip(batch.items, batch.outcomes,
                                                             strict=True) if settled is None)
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _write(items: list[Item], rows: list[_Row]) -> dict[int, Outcome]:
    """All rows in one transaction; if one collides (a redelivered job whose result is already
    stored), each row on its own, so one duplicate does not lose the others."""
    if not rows:
        return {}
    if len(rows) > 1:
        try:
            with session_scope() as session:
                outcomes = {}
                for row in rows:
                    receipt_id, job_id = items[row.index]
                    if not _update_receipt(session, receipt_id, job_id, row):
                        outcomes[row.index] = Outcome.STALE  # its extraction is not written
                        continue
                    if row.extraction is not None:
                        session.add(Extraction(**row.extraction))
                    _update_pages(session, receipt_id, row.pages)
                    outcomes[row.index] = _outcome(row.status)
                refresh_review_reasons(session, [items[i][0] for i, outcome in outcomes.items()
                                                 if outcome is Outcome.DONE])
                receipts_finished(session, [items[i][0] for i, outcome in outcomes.items()
                                            if outcome in (Outcome.DONE, Outcome.FAILED)])
                session.flush()
            return outcomes
        except IntegrityError:
            log.info("batch write collided with a stored result; writing one by one")
    return {row.index: _finish(*items[row.index], row) for row in rows}


def _page_update(reading: PageReading) -> dict[str, Any]:
    """What a page's row learns from its reading; a page the engine turned upright gets the
    upright rendition stored (the upload itself is never changed)."""
    update_: dict[str, Any] = {"number": reading.number,
                               "lines": [ln.to_json() for ln in reading.lines],
                               "lines_source": reading.lines_source,
                               "transforms": reading.transforms}
    if reading.image is not None:
        update_.update(storage_key=get_storage().put(encode_page(reading.image)),
                       media_type=RENDITION_TYPE, width=reading.image.width,
                       height=reading.image.height)
    return update_


def _update_pages(session: Any, receipt_id: int, updates: list[dict[str, Any]]) -> None:
    if not updates:
        return
    pages = {p.number: p for p in session.scalars(
        select(ReceiptPage).where(ReceiptPage.receipt_id == receipt_id))}
    for change in updates:
        page = pages.get(change["number"])
        if page is None:
            continue  # stored before pages were recorded: nothing to attach the reading to
        new = [t for t in change["transforms"] if t not in page.transforms]
        for key, value in change.items():
            if key not in ("number", "transforms"):
                setattr(page, key, value)
        if new:
            page.transforms = [*page.transforms, *new]


def _update_receipt(session: Any, receipt_id: int, job_id: str, row: _Row) -> bool:
    return bool(session.execute(
        update(Receipt)
        .where(Receipt.id == receipt_id, Receipt.job_id == job_id)
        .values(status=row.status, error=row.error, finished_at=utcnow(), updated_at=utcnow())
    ).rowcount)


def _outcome(status: ReceiptStatus) -> Outcome:
    return Outcome.DONE if status == ReceiptStatus.DONE else Outcome.FAILED


def _finish(receipt_id: int, job_id: str, row: _Row) -> Outcome:
    try:
        with session_scope() as session:
            if row.extraction is not None:
                session.add(Extraction(**row.extraction))
            if not _update_receipt(session, receipt_id, job_id, row):
                session.rollback()
                return Outcome.STALE
            _update_pages(session, receipt_id, row.pages)
            if row.status == ReceiptStatus.DONE:
                refresh_review_reasons(session, [receipt_id])
            receipts_finished(session, [receipt_id])
    except IntegrityError:
        # Another delivery of the same job stored its extraction first.
        return Outcome.DUPLICATE
    return _outcome(row.status)


def fail(receipt_id: int, job_id: str, message: str) -> Outcome:
    """Record a permanent failure with a message the user can act on."""
    return _finish(receipt_id, job_id, _Row(0, ReceiptStatus.FAILED, message, None))


def process_receipts(items: list[Item]) -> list[Outcome]:
    """All three stages in the caller's thread. An engine error is raised (after the rest of the
    batch is written), for the caller's retry logic."""
    results = finish_batch(infer_batch(prepare_batch(items)))
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results  # type: ignore[return-value]


def process_receipt(receipt_id: int, job_id: str) -> Outcome:
    return process_receipts([(receipt_id, job_id)])[0]


def _request_text_lines(receipt_id: int) -> None:
    """Values without boxes: ask a CPU worker for the receipt's text lines, so reviewers see
    where each value is printed. Best effort: extraction has succeeded either way."""
    try:
        celery_app().send_task(TASK_READ_TEXT, kwargs={"receipt_id": receipt_id},
                               queue=queue_for_engine("ocr"))
    except Exception:
        log.warning("could not request text lines for receipt %s", receipt_id, exc_info=True)
