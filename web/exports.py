"""Batch exports: one row per receipt with its final values (corrections win)."""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import re
import zipfile

from shared.db.models import Batch, Receipt
from shared.results import final_values
from shared.storage import Storage
from web.presenters import field_names

_META = ["receipt_id", "file", "status", "error"]
# A cell starting with one of these is read as a formula by spreadsheets (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)*$")


def safe_cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not run: text starting like a formula gets a leading
    apostrophe, as OWASP recommends. Plain numbers ("-5.00") are left alone: they are no
    formula, and amounts must stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def _write_csv(fieldnames: list[str], rows: list[dict[str, object]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fieldnames, restval="")
    writer.writeheader()
    writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()


def rows(batch: Batch) -> list[dict[str, object]]:
    names = field_names(batch)
    return [
        {"receipt_id": r.id, "file": r.original_name, "status": r.status.value,
         "error": r.error or "", **final_values(r, names)}
        for r in batch.receipts
    ]


def to_csv(batch: Batch) -> str:
    return _write_csv(_META + field_names(batch), rows(batch))


def to_json(batch: Batch) -> str:
    return json.dumps({"batch_id": batch.id, "name": batch.name, "receipts": rows(batch)},
                      indent=2)


def reviewed_rows(receipts: list[Receipt]) -> list[dict[str, object]]:
    out = []
    for r in receipts:
        names = field_names(r.batch)
        last = r.latest_correction
        out.append({"receipt_id": r.id, "batch_id": r.batch_id, "file": r.original_name,
                    "reviewed_by": last.author if last else "",
                    "reviewed_at": last.created_at.isoformat() if last else "",
                    **final_values(r, names)})
    return out


def reviewed_csv(receipts: list[Receipt]) -> str:
    rows = reviewed_rows(receipts)
    names = sorted({k for row in rows for k in row} - set(_REVIEW_META), key=str)
    return _write_csv([*_REVIEW_META, *names], rows)


def reviewed_jsonl(receipts: list[Receipt]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in reviewed_rows(receipts))


def dataset_zip(receipts: list[Receipt], storage: Storage) -> bytes:
    """The trainer's folder format: images/<name>.<ext> + labels/<name>.json."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for r in receipts:
            if r.storage_key is None:
                continue
            name = f"receipt-{r.id}"
            ext = mimetypes.guess_extension(r.media_type or "") or ".img"
            archive.writestr(f"images/{name}{'.jpg' if ext == '.jpeg' else ext}",
                             storage.get(r.storage_key))
            archive.writestr(f"labels/{name}.json",
                             json.dumps(final_values(r, field_names(r.batch)), indent=1))
    return buf.getvalue()


_REVIEW_META = ["receipt_id", "batch_id", "file", "reviewed_by", "reviewed_at"]
