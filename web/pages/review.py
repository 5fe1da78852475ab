"""Review: the queue (least confident first) and the receipt page (image beside the fields,
boxes on hover or focus, keyboard: ↑/↓ between fields, Enter saves and opens the next)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from shared.review import confidence_of, field_locations, review_queue
from shared.storage import get_storage
from web import deletion
from web.api.receipts import get_receipt_or_404, save_correction
from web.db import MAX_ID, db
from web.pages import bp
from web.presenters import field_names, receipt_detail

QUEUE_FILTERS = ("batch", "status", "field")


def _filters() -> dict[str, Any]:
    raw = {k: request.values.get(k) or None for k in QUEUE_FILTERS}
    batch = raw["batch"]
    batch_id = int(batch) if batch and batch.isascii() and batch.isdigit() else None
    return {"batch_id": batch_id if batch_id and batch_id <= MAX_ID else None,
            "status": raw["status"] if raw["status"] in ("done", "failed") else None,
            "field": raw["field"]}


def _query_args(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in {"batch": filters["batch_id"], "status": filters["status"],
                              "field": filters["field"]}.items() if v}


@bp.get("/review")
def review_queue_page() -> str:
    filters = _filters()
    receipts = review_queue(db(), **filters)
    rows = [{"receipt": r, "confidence": confidence_of(r.latest_extraction, filters["field"])}
            for r in receipts]
    return render_template("review_queue.html", rows=rows, filters=filters,
                           args=_query_args(filters))


@bp.route("/receipts/<int:receipt_id>", methods=["GET", "POST"])
def receipt(receipt_id: int) -> str | Response:
    r = get_receipt_or_404(receipt_id)
    names = field_names(r.batch)
    filters = _filters()
    if request.method == "POST":
        values = {n: request.form[n].strip() for n in names if n in request.form}
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
        "extracted": (extraction.fields.get(n) or {}).get("value", "") if extraction else "",
        "confidence": confidence_of(extraction, n) if extraction else None,
        "location": locations[n],
    } for n in names]
    return render_template("receipt.html", receipt=detail, fields=fields,
                           args=_query_args(filters))


@bp.post("/receipts/<int:receipt_id>/delete")
def delete_receipt(receipt_id: int) -> Response:
    r = get_receipt_or_404(receipt_id)
    batch_id = r.batch_id
    deleted = deletion.delete_receipt(db(), get_storage(), r)
    flash(f"receipt {receipt_id} deleted ({deleted.files} stored files removed)")
    return redirect(url_for("pages.batch", batch_id=batch_id))
