"""ORM rows to plain dicts, shared by the API, the pages and the exports."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from shared.db.models import Batch, Receipt, ReceiptPage, ReceiptStatus
from shared.results import receipt_values, status_counts


def field_names(batch: Batch) -> list[str]:
    return [f["name"] for f in batch.fields]


def batch_dict(session: Session, batch: Batch, *, with_receipts: bool = False) -> dict[str, Any]:
    counts = status_counts(session, batch.id)
    out: dict[str, Any] = {
        "id": batch.id,
        "name": batch.name,
        "engine": batch.engine,
        "fields": field_names(batch),
        "created_at": batch.created_at,
        "total": sum(counts.values()),
        "counts": counts,
        "finished": counts[ReceiptStatus.QUEUED] + counts[ReceiptStatus.PROCESSING] == 0,
    }
    if with_receipts:
        out["receipts"] = [receipt_summary(r, field_names(batch)) for r in batch.receipts]
    return out


def receipt_summary(receipt: Receipt, names: list[str]) -> dict[str, Any]:
    values = receipt_values(receipt)
    return {
        "id": receipt.id,
        "batch_id": receipt.batch_id,
        "original_name": receipt.original_name,
        "status": receipt.status.value,
        "error": receipt.error,
        "acceptance": receipt.acceptance,
        "values": values.printed,
        "typed": values.typed,
        "items": values.items,
        "review_reasons": [r.to_json() for r in values.reasons],
        "created_at": receipt.created_at,
        "finished_at": receipt.finished_at,
    }


def receipt_detail(receipt: Receipt) -> dict[str, Any]:
    out = receipt_summary(receipt, field_names(receipt.batch))
    out.update(
        content_hash=receipt.content_hash,
        media_type=receipt.media_type,
        width=receipt.width,
        height=receipt.height,
        size_bytes=receipt.size_bytes,
        attempts=receipt.attempts,
        # Page 1, in a format browsers show: what a one-page receipt's image always was.
        image_url=url_for("api.receipt_image", receipt_id=receipt.id)
        if receipt.pages else None,
        original_url=url_for("api.receipt_original", receipt_id=receipt.id)
        if receipt.storage_key else None,
        pages=[page_dict(receipt, page) for page in receipt.pages],
        extraction=receipt.latest_extraction,
        corrections=receipt.corrections,
    )
    return out


def page_dict(receipt: Receipt, page: ReceiptPage) -> dict[str, Any]:
    return {
        "number": page.number,
        "width": page.width,
        "height": page.height,
        "source": page.source,
        "transforms": page.transforms,
        "lines_source": page.lines_source,
        "image_url": url_for("api.page_image", receipt_id=receipt.id, number=page.number),
    }
