"""Review: the queue (least confident first) and the receipt page (image beside the fields,
boxes on hover or focus, keyboard: ↑/↓ between fields, Enter saves and opens the next)."""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from shared import acceptance
from shared.calibration import Calibration
from shared.db.models import CalibrationFit
from shared.fields import FieldSpec
from shared.review import confidence_of, field_locations, review_queue
from shared.storage import get_storage
from shared.values.checks import RULES
from web import deletion
from web.api.receipts import get_receipt_or_404, save_correction
from web.db import MAX_ID, db
from web.pages import bp
from web.presenters import receipt_detail

QUEUE_FILTERS = ("batch", "status", "field", "reason")
ROW_KEY = re.compile(r"^(?P<field>[a-z][a-z0-9_]*)\.(?P<row>\d{1,3})\.(?P<column>[a-z][a-z0-9_]*)$")


def _filters() -> dict[str, Any]:
    raw = {k: request.values.get(k) or None for k in QUEUE_FILTERS}
    batch = raw["batch"]
    batch_id = int(batch) if batch and batch.isascii() and batch.isdigit() else None
    return {"batch_id": batch_id if batch_id and batch_id <= MAX_ID else None,
            "status": raw["status"] if raw["status"] in ("done", "failed") else None,
            "field": raw["field"], "reason": raw["reason"] if raw["reason"] in RULES else None}


def _query_args(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in {"batch": filters["batch_id"], "status": filters["status"],
                              "field": filters["field"], "reason": filters["reason"]}.items() if v}


@bp.get("/review")
def review_queue_page() -> str:
    filters = _filters()
    receipts = review_queue(db(), **filters)
    rows = [{"receipt": r, "confidence": confidence_of(r.latest_extraction, filters["field"]),
             "reasons": r.review_reasons or []} for r in receipts]
    return render_template("review_queue.html", rows=rows, filters=filters, rules=sorted(RULES),
                           args=_query_args(filters), accept=acceptance.share(db()),
                           thresholds=_thresholds())


def _thresholds() -> list[dict[str, Any]]:
    """Every engine version's fields that have an auto-accept threshold."""
    out = []
    for row in db().scalars(select(CalibrationFit).order_by(CalibrationFit.scope,
                                                            CalibrationFit.field)):
        cal = Calibration.from_json(row.data)
        if cal.threshold is not None:
            out.append({"scope": row.scope, "field": row.field, "threshold": cal.threshold,
                        "error": cal.error_at_threshold, "share": cal.share_at_threshold})
    return out


@bp.route("/receipts/<int:receipt_id>", methods=["GET", "POST"])
def receipt(receipt_id: int) -> str | Response:
    r = get_receipt_or_404(receipt_id)
    specs = [FieldSpec.model_validate(f) for f in r.batch.fields]
    names = [f.name for f in specs if not f.is_table]
    filters = _filters()
    if request.method == "POST":
        values: dict[str, object] = {n: request.form[n].strip() for n in names
                                     if n in request.form}
        values.update(_table_rows(specs))
        save_correction(r, values, author=request.form.get("author") or "web")
        if request.form.get("then") == "next":
            upcoming = [q for q in review_queue(db(), **filters) if q.id != r.id]
            if upcoming:
                return redirect(url_for("pages.receipt", receipt_id=upcoming[0].id,
                                        **_query_args(filters)))
            return redirect(url_for("pages.review_queue_page", **_query_args(filters)))
        return redirect(url_for("pages.receipt", receipt_id=r.id, **_query_args(filters)))
    detail = receipt_detail(r)
    locations = field_locations(r, detail["values"])
    extraction = r.latest_extraction
    fields = [{
        "name": n,
        "value": detail["values"][n],
        "typed": detail["typed"].get(n),
        "extracted": (extraction.fields.get(n) or {}).get("value", "") if extraction else "",
        "confidence": confidence_of(extraction, n) if extraction else None,
        "location": locations[n],
    } for n in names]
    tables = [{"name": f.name, "description": f.description,
               "columns": [c.name for c in f.columns or []],
               "rows": detail["items"][f.name],
               "boxes": _row_boxes(extraction, f.name)} for f in specs if f.is_table]
    return render_template("receipt.html", receipt=detail, fields=fields, tables=tables,
                           args=_query_args(filters))


@bp.post("/receipts/<int:receipt_id>/delete")
def delete_receipt(receipt_id: int) -> Response:
    r = get_receipt_or_404(receipt_id)
    batch_id = r.batch_id
    deleted = deletion.delete_receipt(db(), get_storage(), r)
    flash(f"receipt {receipt_id} deleted ({deleted.files} stored files removed)")
    return redirect(url_for("pages.batch", batch_id=batch_id))


def _table_rows(specs: list[FieldSpec]) -> dict[str, object]:
    """The edited tables of the receipt form: inputs named ``items.3.amount`` (row 3's amount),
    a table sent at all when its ``items.rows`` marker is; rows left empty are dropped."""
    tables: dict[str, dict[int, dict[str, str]]] = {
        f.name: {} for f in specs if f.is_table and f"{f.name}.rows" in request.form}
    for key, value in request.form.items():
        m = ROW_KEY.match(key)
        if m and m["field"] in tables:
            tables[m["field"]].setdefault(int(m["row"]), {})[m["column"]] = value.strip()
    return {name: [row for _, row in sorted(rows.items()) if any(row.values())]
            for name, rows in tables.items()}


def _row_boxes(extraction: Any, name: str) -> list[dict[str, Any] | None]:
    rows = ((extraction.fields.get(name) or {}).get("rows") if extraction else None) or []
    return [{"box": row.get("box"), "page": row.get("page") or 1} if row.get("box") else None
            for row in rows]
