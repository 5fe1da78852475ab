"""What follows a receipt reaching a final state (done or failed), in the transaction that
stores it: the auto-accept decision (``shared/acceptance.py``), the ``receipt.done`` /
``receipt.failed`` event, and, when it was the batch's last unfinished receipt, the batch's
``finished_at`` and its ``batch.finished`` event.

A batch is marked finished by a conditional UPDATE (still unmarked, nothing unfinished), so two
workers finishing its last receipts at once mark it once. When each of them still saw the
other's receipt unfinished, neither marks it: the reconciler's :func:`sweep_batches` does, a
round later.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, selectinload

from shared import acceptance
from shared.db.models import Batch, Receipt, ReceiptStatus, utcnow
from shared.results import final_values, status_counts
from shared.webhooks import events

UNFINISHED = (ReceiptStatus.QUEUED, ReceiptStatus.PROCESSING)


def receipt_data(receipt: Receipt) -> dict[str, Any]:
    """A receipt as webhook events describe it."""
    kinds = acceptance.text_kinds(receipt)
    extraction = receipt.latest_extraction
    return {"receipt": {
        "id": receipt.id, "batch_id": receipt.batch_id, "name": receipt.original_name,
        "status": receipt.status.value, "error": receipt.error,
        "acceptance": receipt.acceptance,
        "review_reasons": receipt.review_reasons or [],
        "values": final_values(receipt, list(kinds)) if extraction else {},
        "url": f"/api/v1/receipts/{receipt.id}"}}


def receipts_finished(session: Session, receipt_ids: Sequence[int]) -> None:
    """Call in the transaction that made these receipts final, after their rows are written."""
    if not receipt_ids:
        return
    session.flush()
    receipts = session.scalars(
        select(Receipt).where(Receipt.id.in_(list(receipt_ids)))
        .options(selectinload(Receipt.extractions), selectinload(Receipt.corrections),
                 selectinload(Receipt.batch))
        .execution_options(populate_existing=True)).all()
    acceptance.decide(session, [r for r in receipts if r.status == ReceiptStatus.DONE])
    for receipt in receipts:
        kind = (events.RECEIPT_DONE if receipt.status == ReceiptStatus.DONE
                else events.RECEIPT_FAILED)
        events.emit(session, kind, receipt_data(receipt))
    finish_batches(session, {r.batch_id for r in receipts})


def finish_batches(session: Session, batch_ids: Iterable[int]) -> int:
    """Mark each batch finished if none of its receipts is unfinished; returns how many."""
    marked = 0
    for batch_id in sorted(batch_ids):
        pending = exists().where(Receipt.batch_id == batch_id, Receipt.status.in_(UNFINISHED))
        if not session.execute(
                update(Batch).where(Batch.id == batch_id, Batch.finished_at.is_(None), ~pending)
                .values(finished_at=utcnow())
                .execution_options(synchronize_session=False)).rowcount:
            continue
        marked += 1
        batch = session.get(Batch, batch_id)
        assert batch is not None
        counts = status_counts(session, batch_id)
        auto_n = session.scalar(select(func.count()).where(
            Receipt.batch_id == batch_id, Receipt.acceptance == acceptance.AUTO))
        events.emit(session, events.BATCH_FINISHED, {"batch": {
            "id": batch_id, "name": batch.name, "counts": counts, "auto_accepted": auto_n,
            "url": f"/api/v1/batches/{batch_id}"}})
    return marked


def sweep_batches(session: Session) -> int:
    """The reconciler's round: batches whose last receipts finished without marking them."""
    pending = exists().where(Receipt.batch_id == Batch.id, Receipt.status.in_(UNFINISHED))
    ids = session.scalars(select(Batch.id).where(Batch.finished_at.is_(None), ~pending)).all()
    marked = finish_batches(session, ids)
    session.commit()
    return marked
