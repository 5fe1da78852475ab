"""Deleting batches and receipts: receipts hold personal data (names, card digits), so an admin
can remove them for good. Rows go with their extractions, corrections and text lines, in one
transaction with the audit event; stored files go after the commit, each only when no other
receipt still uses it (storage is content-addressed: the same file uploaded twice is one file).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shared.db.models import Batch, Correction, Extraction, Receipt, ReceiptPage
from shared.storage import Storage
from web import audit


@dataclass
class Deleted:
    receipts: int
    files: int  # stored files removed (others are still used by other receipts)


def delete_batch(session: Session, storage: Storage, batch: Batch) -> Deleted:
    ids = [r.id for r in batch.receipts]
    audit.record(session, "batch.deleted", f"batch {batch.id}", name=batch.name,
                 receipts=len(ids))
    keys = _delete_rows(session, ids)
    session.execute(delete(Batch).where(Batch.id == batch.id))
    session.commit()
    return Deleted(len(ids), _remove_unused_files(session, storage, keys))


def delete_receipt(session: Session, storage: Storage, receipt: Receipt) -> Deleted:
    audit.record(session, "receipt.deleted", f"receipt {receipt.id}", batch=receipt.batch_id,
                 file=receipt.original_name)
    keys = _delete_rows(session, [receipt.id])
    session.commit()
    return Deleted(1, _remove_unused_files(session, storage, keys))


def _delete_rows(session: Session, receipt_ids: list[int]) -> set[str]:
    """Delete the receipts and what hangs off them; the storage keys they used."""
    keys = set(session.scalars(select(Receipt.storage_key).where(
        Receipt.id.in_(receipt_ids), Receipt.storage_key.is_not(None))))
    keys |= set(session.scalars(select(ReceiptPage.storage_key).where(
        ReceiptPage.receipt_id.in_(receipt_ids))))
    # Children first, in an order every backend accepts (corrections point at extractions).
    for model, column in ((Correction, Correction.receipt_id),
                          (ReceiptPage, ReceiptPage.receipt_id),
                          (Extraction, Extraction.receipt_id), (Receipt, Receipt.id)):
        session.execute(delete(model).where(column.in_(receipt_ids))
                        .execution_options(synchronize_session=False))
    return keys  # type: ignore[return-value]


def _remove_unused_files(session: Session, storage: Storage, keys: set[str]) -> int:
    removed = 0
    for key in keys:
        if not (session.scalar(select(func.count()).select_from(Receipt)
                               .where(Receipt.storage_key == key))
                or session.scalar(select(func.count()).select_from(ReceiptPage)
                                  .where(ReceiptPage.storage_key == key))):
            storage.delete(key)
            removed += 1
    return removed
