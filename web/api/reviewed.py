"""Exports of reviewed data: CSV, JSON lines, and a dataset in the trainer's folder format."""

from __future__ import annotations

from flask import Response

from shared.review import reviewed_receipts
from shared.storage import get_storage
from web import exports
from web.api import blp
from web.api.schemas import ReviewedExportQuerySchema
from web.db import db


@blp.route("/exports/reviewed", methods=["GET"])
@blp.arguments(ReviewedExportQuerySchema, location="query")
@blp.response(200, content_type="text/csv")
@blp.alt_response(200, content_type="application/x-ndjson", description="JSON lines")
def export_reviewed(query: dict) -> Response:
    """Every reviewed receipt with its final values, who reviewed it and when."""
    receipts = reviewed_receipts(db())
    if query["format"] == "csv":
        body, mime, ext = exports.reviewed_csv(receipts), "text/csv", "csv"
    else:
        body, mime, ext = exports.reviewed_jsonl(receipts), "application/x-ndjson", "jsonl"
    return Response(body, mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="reviewed.{ext}"'})


@blp.route("/exports/dataset", methods=["GET"])
@blp.response(200, content_type="application/zip")
def export_dataset() -> Response:
    """Reviewed receipts as a zip of images/ + labels/ (what `receiptflow train --folder` and
    `receiptflow eval` read)."""
    body = exports.dataset_zip(reviewed_receipts(db()), get_storage())
    return Response(body, mimetype="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="dataset.zip"'})
