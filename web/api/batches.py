"""Batch endpoints: create from files or zips, list, status, export."""

from __future__ import annotations

from flask import Response, current_app, request
from flask_smorest import abort
from sqlalchemy import select

from shared.config import get_settings
from shared.db.models import Batch
from shared.engines import ENGINE_NAMES
from shared.storage import get_storage
from web import exports
from web.api import blp
from web.api.schemas import (
    BatchDetailSchema,
    BatchFormSchema,
    BatchSchema,
    BatchUploadSchema,
    ExportQuerySchema,
)
from web.db import db, get_or_404
from web.intake import UploadRejected, create_batch, expand_uploads
from web.presenters import batch_dict


def get_batch_or_404(batch_id: int) -> Batch:
    return get_or_404(Batch, batch_id, "batch")


def new_batch_from_request(name: str, engine: str | None) -> Batch:
    """Shared by the API and the upload page."""
    settings = get_settings()
    engine = engine or settings.engine
    if engine not in ENGINE_NAMES:
        abort(422, message=f"unknown engine {engine!r}; choose one of {sorted(ENGINE_NAMES)}")
    uploads = []
    for f in request.files.getlist("files"):
        data = f.read()
        if f.filename or data:  # a part with neither is an empty file input: no file chosen
            uploads.append((f.filename or "unnamed", data))
    try:
        files = expand_uploads(uploads, settings)
    except UploadRejected as exc:
        abort(400, message=str(exc))
    batch = create_batch(db(), files, engine=engine, name=name, settings=settings,
                         storage=get_storage())
    current_app.logger.info("batch %s: %d receipts", batch.id, len(batch.receipts))
    return batch


@blp.route("/batches", methods=["POST"])
@blp.arguments(BatchFormSchema, location="form")
@blp.arguments(BatchUploadSchema, location="files")
@blp.response(201, BatchDetailSchema)
def create(form: dict, _files: dict) -> dict:
    """Create a batch from receipt images and/or zip archives (multipart field `files`).

    Files that are not readable images become failed receipts with a message; the others are
    stored and queued.
    """
    batch = new_batch_from_request(form["name"], form["engine"])
    return batch_dict(db(), batch, with_receipts=True)


@blp.route("/batches", methods=["GET"])
@blp.response(200, BatchSchema(many=True))
def list_batches() -> list[dict]:
    """Most recent batches first, with per-status counts."""
    batches = db().scalars(select(Batch).order_by(Batch.id.desc()).limit(200)).all()
    return [batch_dict(db(), b) for b in batches]


@blp.route("/batches/<int:batch_id>", methods=["GET"])
@blp.response(200, BatchDetailSchema)
def show(batch_id: int) -> dict:
    """A batch's progress (counts per status) and its receipts."""
    return batch_dict(db(), get_batch_or_404(batch_id), with_receipts=True)


@blp.route("/batches/<int:batch_id>/export", methods=["GET"])
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, content_type="text/csv")
@blp.alt_response(200, content_type="application/json", description="JSON export")
def export(query: dict, batch_id: int) -> Response:
    """Every receipt's final values (corrections win) as CSV or JSON."""
    batch = get_batch_or_404(batch_id)
    if query["format"] == "csv":
        body, mime = exports.to_csv(batch), "text/csv"
    else:
        body, mime = exports.to_json(batch), "application/json"
    filename = f"batch-{batch.id}.{query['format']}"
    return Response(body, mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
