"""Reading results back: per-status counts and the values a receipt finally has: printed text,
line items, typed values and the validation rules' review reasons."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from shared.db.models import Receipt, ReceiptStatus
from shared.documents.lines import TextLine
from shared.fields import FieldSpec
from shared.values import typed
from shared.values.checks import Reason, check, load_rules, typed_receipt

log = logging.getLogger(__name__)


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
    """A reviewer's correction wins over the engine's value, field by field (text fields; a
    table field's rows are :func:`final_items`)."""
    values = {name: "" for name in field_names}
    extraction = receipt.latest_extraction
    if extraction is not None:
        values.update({k: v for k, v in extraction.values().items() if k in values})
    correction = receipt.latest_correction
    if correction is not None:
        values.update({k: str(v) for k, v in correction.fields.items()
                       if k in values and not isinstance(v, list)})
    return values


def final_items(receipt: Receipt, name: str) -> list[dict[str, str]]:
    """A table field's rows, as the reviewer corrected them or else as extracted: each row a
    cell per column."""
    correction = receipt.latest_correction
    if correction is not None and isinstance(correction.fields.get(name), list):
        return [{k: str(v) for k, v in row.items()} for row in correction.fields[name]]
    extraction = receipt.latest_extraction
    rows = ((extraction.fields.get(name) or {}).get("rows") if extraction else None) or []
    return [{col: str(cell.get("value", "")) for col, cell in row.get("cells", {}).items()}
            for row in rows]


@dataclass
class Values:
    """A receipt's values as an accounting system takes them."""

    printed: dict[str, str]  # every text field, as printed (or corrected)
    items: dict[str, list[dict[str, str]]]  # every table field's rows
    typed: dict[str, dict[str, Any] | None]  # every typed field (shared/values)
    items_typed: dict[str, list[dict[str, Any]]]  # the rows' typed cells
    reasons: list[Reason]  # the validation rules the receipt fails


@cache
def _rules(path: str | None) -> tuple[dict[str, Any], ...]:
    return load_rules(Path(path) if path else None)


def receipt_values(receipt: Receipt, today: dt.date | None = None) -> Values:
    """Printed, typed and checked, from the receipt's batch's field list and its text lines
    (which tell its country, currency and date order, and the taxes, charges and discounts
    printed between its items and its total)."""
    from shared.config import get_settings

    specs = [FieldSpec.model_validate(f) for f in receipt.batch.fields]
    text_fields = [f.name for f in specs if not f.is_table]
    printed = final_values(receipt, text_fields)
    items = {f.name: final_items(receipt, f.name) for f in specs if f.is_table}
    pages = [[TextLine.from_json(ln) for ln in (page.lines or []) if "box" in ln]
             for page in receipt.pages]
    kinds = {f.name: f.kind for f in specs if not f.is_table}
    checked = typed_receipt(printed, kinds, items, pages, today or dt.date.today())
    items_typed = {f.name: [_typed_row(row, f, checked.hints) for row in items[f.name]]
                   for f in specs if f.is_table}
    rules = _rules(str(get_settings().validation_file or "") or None)
    reasons = check(checked, rules) if receipt.status == ReceiptStatus.DONE else []
    return Values(printed, items, {n: v for n, v in checked.typed.items() if v is not None},
                  items_typed, reasons)


def _typed_row(row: dict[str, str], spec: FieldSpec, hints: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in spec.columns or []:
        kind = "amount" if col.kind in ("amount", "number") else None
        value = typed(kind, row.get(col.name, ""), hints) if kind else None
        if value is not None:
            out[col.name] = value["value"] if col.kind == "number" else value
    return out


def refresh_review_reasons(session: Session, receipt_ids: Sequence[int]) -> int:
    """Store the review reasons of these receipts as their values and lines are now: called in
    the transaction that changes them (a stored result, text lines read, a correction), so the
    review queue sorts and filters on a column instead of re-checking every receipt. Returns
    how many are flagged."""
    if not receipt_ids:
        return 0
    session.flush()
    receipts = session.scalars(
        select(Receipt).where(Receipt.id.in_(list(receipt_ids)))
        .options(selectinload(Receipt.pages), selectinload(Receipt.extractions),
                 selectinload(Receipt.corrections), selectinload(Receipt.batch))
        .execution_options(populate_existing=True))
    flagged = 0
    for receipt in receipts:
        try:
            receipt.review_reasons = [r.to_json() for r in receipt_values(receipt).reasons]
        except Exception:  # checking must never lose the write it rides on
            log.warning("could not check receipt %s", receipt.id, exc_info=True)
        flagged += bool(receipt.review_reasons)
    return flagged
