"""Reading results back: per-status counts and the values a receipt finally has."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db.models import Receipt, ReceiptStatus


def status_counts(session: Session, batch_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Receipt.status, func.count())
        .where(Receipt.batch_id == batch_id)
        .group_by(Receipt.status)
    ).all()
    counts = {status.value: 0 for status in ReceiptStatus}
    counts.update({status.value: n for status, n in rows})
    return counts


def final_values(receipt: Receipt, field_names: list[str]) -> dict[str, str]:
    """A reviewer's correction wins over the engine's value, field by field."""
    values = {name: "" for name in field_names}
    extraction = receipt.latest_extraction
    if extraction is not None:
        values.update({k: v for k, v in extraction.values().items() if k in values})
    correction = receipt.latest_correction
    if correction is not None:
        values.update({k: str(v) for k, v in correction.fields.items() if k in values})
    return values
