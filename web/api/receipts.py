"""Receipt endpoints: detail, image, corrections."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response
from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import select

from shared.db.models import AuditEvent, Correction, Receipt
from shared.fields import FieldSpec
from shared.finishing import receipt_data
from shared.results import refresh_review_reasons
from shared.storage import StorageError, get_storage
from shared.webhooks import events
from web.api import blp
from web.api.schemas import (
    AuditEventSchema,
    CorrectionInSchema,
    CorrectionSchema,
    DeletedSchema,
    ReceiptSchema,
)
from web.db import db, get_or_404
from web.deletion import Deleted, delete_receipt
from web.input_checks import plain_text
from web.presenters import receipt_detail
from web.security_headers import file_headers


def get_receipt_or_404(receipt_id: int) -> Receipt:
    return get_or_404(Receipt, receipt_id, "receipt")


# Named explicitly: batches.show is also "show", and flask-smorest would number this one.
@blp.route("/receipts/<int:receipt_id>", methods=["GET"], endpoint="show_receipt")
@blp.response(200, ReceiptSchema)
def show(receipt_id: int) -> dict:
    """A receipt with its latest extraction and its corrections."""
    return receipt_detail(get_receipt_or_404(receipt_id))


@blp.route("/receipts/<int:receipt_id>/image", methods=["GET"])
@blp.response(200, content_type="image/*")
def receipt_image(receipt_id: int) -> Response:
    """The receipt's first page as an image (a PDF page rendered, a HEIC decoded)."""
    return _page_image(get_receipt_or_404(receipt_id), 1)


@blp.route("/receipts/<int:receipt_id>/pages/<int:number>/image", methods=["GET"])
@blp.response(200, content_type="image/*")
def page_image(receipt_id: int, number: int) -> Response:
    """One page of the receipt as an image."""
    return _page_image(get_receipt_or_404(receipt_id), number)


@blp.route("/receipts/<int:receipt_id>/original", methods=["GET"])
@blp.response(200, content_type="application/octet-stream")
def receipt_original(receipt_id: int) -> Response:
    """The file as it was uploaded, as a download."""
    receipt = get_receipt_or_404(receipt_id)
    if receipt.storage_key is None:
        abort(404, message=f"receipt {receipt_id} has no stored file ({receipt.error})")
    name = quote(receipt.original_name)
    headers = {**file_headers(), "Content-Disposition": f"attachment; filename*=UTF-8''{name}"}
    return Response(_stored(receipt.storage_key), headers=headers,
                    mimetype=receipt.media_type or "application/octet-stream")


def _page_image(receipt: Receipt, number: int) -> Response:
    page = next((p for p in receipt.pages if p.number == number), None)
    if not receipt.pages:
        abort(404, message=f"receipt {receipt.id} has no stored image ({receipt.error})")
    if page is None:
        abort(404, message=f"receipt {receipt.id} has no page {number}: it has "
                           f"{len(receipt.pages)}")
    # The type the page decoded as (never the client's claim), with nosniff (on every
    # response): the bytes are only ever read as that image type.
    return Response(_stored(page.storage_key), mimetype=page.media_type, headers=file_headers())


def _stored(key: str) -> bytes:
    try:
        return get_storage().get(key)
    except StorageError as exc:
        abort(404, message=str(exc))
        raise  # abort raises; this tells type checkers as much


MAX_VALUE = 2000


def save_correction(receipt: Receipt, values: dict[str, object], author: str) -> Correction:
    """Shared by the API and the receipt page. The author is the logged-in user when there is
    one (what a client sends is ignored then); ``author`` is only the fallback. A text field
    takes text; a table field (line items) its rows, each a cell per column."""
    if current_user.is_authenticated:
        author = current_user.username
    specs = {f["name"]: FieldSpec.model_validate(f) for f in receipt.batch.fields}
    unknown = sorted(set(values) - set(specs))
    if unknown:
        abort(422, message=f"unknown fields {unknown}; this batch has {list(specs)}")
    for name, value in values.items():
        _check_value(specs[name], value)
    latest = receipt.latest_extraction
    # Each correction holds every corrected field so far, so the latest one is the whole truth
    # and earlier ones stay as the audit trail.
    previous = receipt.latest_correction
    merged = {**(previous.fields if previous else {}), **values}
    extracted = latest.fields if latest else {}
    changed = sorted(name for name, value in merged.items()
                     if value != _extracted_value(extracted.get(name), specs[name]))
    correction = Correction(receipt_id=receipt.id, fields=merged, author=author,
                            extraction_id=latest.id if latest else None, changed_fields=changed)
    db().add(correction)
    refresh_review_reasons(db(), [receipt.id])  # the rules run again on the corrected values
    events.emit(db(), events.RECEIPT_REVIEWED, {
        **receipt_data(receipt), "review": {"author": author, "changed_fields": changed}})
    db().commit()
    return correction


MAX_ROWS = 500


def _extracted_value(field: dict | None, spec: FieldSpec) -> object:
    """The engine's value in the form a correction gives it: text, or a table's rows."""
    if not field:
        return [] if spec.is_table else ""
    if spec.is_table:
        return [{c: str(cell.get("value", "")) for c, cell in row.get("cells", {}).items()}
                for row in field.get("rows") or []]
    return str(field.get("value", ""))


def _check_value(spec: FieldSpec, value: object) -> None:
    where = f"fields.{spec.name}"
    if not spec.is_table:
        if not isinstance(value, str):
            abort(422, message=f"{where}: give the corrected text")
        _check_text(value, where)
        return
    if not isinstance(value, list) or len(value) > MAX_ROWS:
        abort(422, message=f"{where}: give the table's rows, a list of at most {MAX_ROWS}")
    columns = [c.name for c in spec.columns or []]
    for i, row in enumerate(value):
        if not isinstance(row, dict):
            abort(422, message=f"{where}[{i}]: a row is an object of column -> text")
        unknown = sorted(set(row) - set(columns))
        if unknown:
            abort(422, message=f"{where}[{i}]: unknown columns {unknown}; the columns are "
                               f"{columns}")
        for column, cell in row.items():
            if not isinstance(cell, str):
                abort(422, message=f"{where}[{i}].{column}: give text")
            _check_text(cell, f"{where}[{i}].{column}")


def _check_text(value: str, where: str) -> None:
    plain_text(value, where)
    if len(value) > MAX_VALUE:
        abort(422, message=f"{where}: longer than {MAX_VALUE} characters")


@blp.route("/receipts/<int:receipt_id>/corrections", methods=["POST"])
@blp.arguments(CorrectionInSchema)
@blp.response(201, CorrectionSchema)
def correct(body: dict, receipt_id: int) -> Correction:
    """Save a reviewer's corrected values (the audit trail keeps every correction).

    The correction's author is the authenticated user; a sent `author` is ignored."""
    receipt = get_receipt_or_404(receipt_id)
    return save_correction(receipt, body["fields"], body["author"])


@blp.route("/receipts/<int:receipt_id>", methods=["DELETE"], endpoint="delete_receipt")
@blp.response(200, DeletedSchema)
def delete(receipt_id: int) -> Deleted:
    """Delete a receipt for good (admins): its extractions, corrections and stored file.
    Recorded in the audit log."""
    return delete_receipt(db(), get_storage(), get_receipt_or_404(receipt_id))


@blp.route("/audit-events", methods=["GET"])
@blp.response(200, AuditEventSchema(many=True))
def list_audit_events() -> list[AuditEvent]:
    """The audit log, newest first (deletions: who, when, what)."""
    return list(db().scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(500)))
