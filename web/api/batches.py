"""Batch endpoints: create from files or zips, list, status, export."""

from __future__ import annotations

import re

from flask import Response, current_app, request
from flask_login import current_user
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
    DeletedSchema,
    ExportQuerySchema,
)
from web.db import db, get_or_404
from web.deletion import Deleted, delete_batch
from web.intake import UploadRejected, create_batch, expand_uploads, find_by_key
from web.presenters import batch_dict


def get_batch_or_404(batch_id: int) -> Batch:
    return get_or_404(Batch, batch_id, "batch")


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")


def new_batch_from_request(name: str, engine: str | None) -> tuple[Batch, bool]:
    """Shared by the API and the upload page: the batch, and whether it was made now (an
    ``Idempotency-Key`` already used returns the batch it made, so a client may retry an upload
    whose answer it never got without storing it twice)."""
    settings = get_settings()
    engine = engine or settings.engine
    if engine not in ENGINE_NAMES:
        abort(422, message=f"unknown engine {engine!r}; choose one of {sorted(ENGINE_NAMES)}")
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        if not IDEMPOTENCY_KEY.match(key):
            abort(400, message="Idempotency-Key must be 1 to 100 printable ASCII characters "
                               "without spaces, e.g. a UUID")
        existing = find_by_key(db(), key)
        if existing is not None:
            return _same_user(existing), False
    uploads = []
    for f in request.files.getlist("files"):
        data = f.read()
        if f.filename or data:  # a part with neither is an empty file input: no file chosen
            uploads.append((f.filename or "unnamed", data))
    try:
        files = expand_uploads(uploads, settings)
    except UploadRejected as exc:
        abort(400, message=str(exc))
    batch, created = create_batch(db(), files, engine=engine, name=name, settings=settings,
                                  storage=get_storage(), created_by=current_user.username,
                                  idempotency_key=key)
    if created:
        current_app.logger.info("batch %s: %d receipts", batch.id, len(batch.receipts))
    return _same_user(batch), created


def _same_user(batch: Batch) -> Batch:
    if batch.created_by != current_user.username:
        abort(409, message="this Idempotency-Key was used for another user's upload; "
                           "send a new key")
    return batch


@blp.route("/batches", methods=["POST"])
@blp.arguments(BatchFormSchema, location="form")
@blp.arguments(BatchUploadSchema, location="files")
@blp.response(201, BatchDetailSchema)
@blp.alt_response(200, schema=BatchDetailSchema,
                  description="the batch this Idempotency-Key made before")
@blp.doc(parameters=[{
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "maxLength": 100},
    "description": "a client-chosen key (e.g. a UUID) per upload: sending the same upload again "
                   "with it returns the first batch instead of a second one"}])
def create(form: dict, _files: dict) -> tuple[dict, int]:
    """Create a batch from receipt images and/or zip archives (multipart field `files`).

    Files that are not readable images become failed receipts with a message; the others are
    stored and queued. The batch name is display text: control characters are dropped.
    """
    batch, created = new_batch_from_request(form["name"], form["engine"])
    return batch_dict(db(), batch, with_receipts=True), 201 if created else 200


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
    """Every receipt's final values (corrections win): CSV (printed and typed columns), the line
    items as CSV, or JSON (nested)."""
    batch = get_batch_or_404(batch_id)
    if query["format"] == "csv":
        body, mime, filename = exports.to_csv(batch), "text/csv", f"batch-{batch.id}.csv"
    elif query["format"] == "items-csv":
        body, mime, filename = (exports.items_csv(batch), "text/csv",
                                f"batch-{batch.id}-items.csv")
    else:
        body, mime, filename = exports.to_json(batch), "application/json", f"batch-{batch.id}.json"
    return Response(body, mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@blp.route("/batches/<int:batch_id>", methods=["DELETE"])
@blp.response(200, DeletedSchema)
def delete(batch_id: int) -> Deleted:
    """Delete a batch for good (admins): its receipts, their extractions, corrections and
    stored files. Recorded in the audit log."""
    return delete_batch(db(), get_storage(), get_batch_or_404(batch_id))
