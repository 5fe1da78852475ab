"""Processing one receipt: the worker's unit of work, free of Celery so it is easy to test.

Idempotent by construction: the extraction row is keyed by the task's job id and written in the
same transaction that marks the receipt done, so a task delivered twice writes once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from shared.broker import celery_app
from shared.config import get_settings
from shared.db.models import Extraction, Receipt, ReceiptStatus, utcnow
from shared.db.session import session_scope
from shared.fields import FieldSpec
from shared.images import ImageRejected, decode
from shared.queues import TASK_READ_TEXT, queue_for_engine
from shared.storage import StorageError, get_storage
from worker.engines import engine_for
from worker.versions import sync_version

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    DUPLICATE = "duplicate"  # this job's result is already stored
    STALE = "stale"  # the receipt was re-queued under another job, or deleted


class PermanentError(Exception):
    """Retrying cannot help; the message is shown to the user on the receipt."""


@dataclass
class _Claim:
    engine: str
    fields: list[FieldSpec]
    storage_key: str | None


def _claim(receipt_id: int, job_id: str) -> _Claim | Outcome:
    with session_scope() as session:
        receipt = session.get(Receipt, receipt_id)
        if receipt is None or receipt.job_id != job_id:
            return Outcome.STALE
        done = session.scalar(select(Extraction.id).where(Extraction.job_id == job_id))
        if done is not None or receipt.status in (ReceiptStatus.DONE, ReceiptStatus.FAILED):
            return Outcome.DUPLICATE
        receipt.status = ReceiptStatus.PROCESSING
        receipt.attempts += 1
        return _Claim(
            engine=receipt.batch.engine,
            fields=[FieldSpec.model_validate(f) for f in receipt.batch.fields],
            storage_key=receipt.storage_key,
        )


def _finish(receipt_id: int, job_id: str, status: ReceiptStatus, error: str | None,
            extraction: Extraction | None) -> Outcome:
    try:
        with session_scope() as session:
            if extraction is not None:
                session.add(extraction)
            changed = session.execute(
                update(Receipt)
                .where(Receipt.id == receipt_id, Receipt.job_id == job_id)
                .values(status=status, error=error, finished_at=utcnow(), updated_at=utcnow())
            ).rowcount
            if not changed:
                session.rollback()
                return Outcome.STALE
    except IntegrityError:
        # Another delivery of the same job stored its extraction first.
        return Outcome.DUPLICATE
    return Outcome.DONE if status == ReceiptStatus.DONE else Outcome.FAILED


def fail(receipt_id: int, job_id: str, message: str) -> Outcome:
    """Record a permanent failure with a message the user can act on."""
    return _finish(receipt_id, job_id, ReceiptStatus.FAILED, message, None)


def process_receipt(receipt_id: int, job_id: str) -> Outcome:
    claim = _claim(receipt_id, job_id)
    if isinstance(claim, Outcome):
        log.info("receipt %s job %s: %s, nothing to do", receipt_id, job_id, claim)
        return claim
    settings = get_settings()
    try:
        if claim.storage_key is None:
            raise PermanentError("the receipt has no stored file; upload it again")
        try:
            data = get_storage().get(claim.storage_key)
        except StorageError as exc:
            raise PermanentError(f"{exc}; upload the receipt again") from exc
        try:
            image = decode(data, settings.max_image_pixels).image
        except ImageRejected as exc:
            raise PermanentError(str(exc)) from exc
    except PermanentError as exc:
        return fail(receipt_id, job_id, str(exc))

    engine = engine_for(claim.engine, claim.fields)
    sync_version(engine)  # between receipts: pick up a newly promoted adapter
    started = time.perf_counter()
    result = engine.extract([image])[0]
    duration_ms = (time.perf_counter() - started) * 1000
    extraction = Extraction(
        receipt_id=receipt_id,
        job_id=job_id,
        engine=claim.engine,
        model_name=engine.model_name,
        model_version_id=engine.model_version,
        fields={name: fv.to_json() for name, fv in result.fields.items()},
        raw_output=result.raw_output,
        duration_ms=duration_ms,
    )
    status = ReceiptStatus.FAILED if result.error else ReceiptStatus.DONE
    outcome = _finish(receipt_id, job_id, status, result.error, extraction)
    # The OCR engine's own lines are in its raw output; other engines may give no boxes.
    boxless = any(fv.value and not fv.box for fv in result.fields.values())
    if outcome is Outcome.DONE and claim.engine != "ocr" and boxless:
        _request_text_lines(receipt_id)
    return outcome


def _request_text_lines(receipt_id: int) -> None:
    """Values without boxes: ask a CPU worker for the receipt's text lines, so reviewers see
    where each value is printed. Best effort: extraction has succeeded either way."""
    try:
        celery_app().send_task(TASK_READ_TEXT, kwargs={"receipt_id": receipt_id},
                               queue=queue_for_engine("ocr"))
    except Exception:
        log.warning("could not request text lines for receipt %s", receipt_id, exc_info=True)
