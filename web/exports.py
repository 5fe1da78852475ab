"""Batch exports: one row per receipt with its final values (corrections win), printed and typed;
one row per line item; JSON nested. Cells are neutralised against spreadsheet formulas."""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import re
import zipfile
from typing import Any

from shared.db.models import Batch, Receipt
from shared.fields import FieldSpec
from shared.results import final_values, receipt_values
from shared.storage import Storage
from shared.values import AMOUNT_KINDS, TYPED_KINDS
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


def _specs(batch: Batch) -> list[FieldSpec]:
    return [FieldSpec.model_validate(f) for f in batch.fields]


def _typed_columns(spec: FieldSpec) -> list[str]:
    """The columns a typed field adds beside its printed one: a date as ISO 8601, an amount
    as a plain decimal and its currency (what a spreadsheet reads as a date, a number)."""
    if spec.kind == "date":
        return [f"{spec.name}_iso"]
    if spec.kind in AMOUNT_KINDS:
        return [f"{spec.name}_value", f"{spec.name}_currency"]
    if spec.kind in TYPED_KINDS:
        return [f"{spec.name}_value"]
    return []


def _typed_cells(spec: FieldSpec, value: dict[str, Any] | None) -> dict[str, object]:
    columns = _typed_columns(spec)
    if not columns or value is None:
        return dict.fromkeys(columns, "")
    if spec.kind in AMOUNT_KINDS:
        return {columns[0]: value["value"], columns[1]: value.get("currency") or ""}
    return {columns[0]: value["value"]}


def receipt_columns(batch: Batch) -> list[str]:
    columns = list(_META)
    for spec in _specs(batch):
        if not spec.is_table:
            columns += [spec.name, *_typed_columns(spec)]
    return [*columns, "review_reasons"]


def rows(batch: Batch) -> list[dict[str, object]]:
    """One row per receipt: each text field as printed and typed, and its review reasons."""
    out = []
    specs = [s for s in _specs(batch) if not s.is_table]
    for r in batch.receipts:
        values = receipt_values(r)
        row: dict[str, object] = {"receipt_id": r.id, "file": r.original_name,
                                  "status": r.status.value, "error": r.error or ""}
        for spec in specs:
            row[spec.name] = values.printed.get(spec.name, "")
            row.update(_typed_cells(spec, values.typed.get(spec.name)))
        row["review_reasons"] = "; ".join(reason.message for reason in values.reasons)
        out.append(row)
    return out


def item_rows(batch: Batch) -> tuple[list[str], list[dict[str, object]]]:
    """One row per line item of every receipt: its columns printed, the amounts and quantities
    as plain decimals beside them, and the receipt's currency."""
    tables = [s for s in _specs(batch) if s.is_table]
    header = ["receipt_id", "file", "field", "line"]
    for spec in tables:
        for col in spec.columns or []:
            extra = [f"{col.name}_value"] if col.kind in ("amount", "number") else []
            header += [c for c in (col.name, *extra) if c not in header]
    header.append("currency")
    out = []
    for r in batch.receipts:
        values = receipt_values(r)
        currency = next((v.get("currency") for v in values.typed.values()
                         if v.get("type") == "amount" and v.get("currency")), "")
        for spec in tables:
            for i, (cells, typed_cells) in enumerate(zip(values.items[spec.name],
                                                         values.items_typed[spec.name],
                                                         strict=True), start=1):
                row: dict[str, object] = {"receipt_id": r.id, "file": r.original_name,
                                          "field": spec.name, "line": i, **cells,
                                          "currency": currency}
                for col, value in typed_cells.items():
                    row[f"{col}_value"] = value["value"] if isinstance(value, dict) else value
                out.append(row)
    return header, out


def to_csv(batch: Batch) -> str:
    return _write_csv(receipt_columns(batch), rows(batch))


def items_csv(batch: Batch) -> str:
    header, data = item_rows(batch)
    return _write_csv(header, data)


def to_json(batch: Batch) -> str:
    """Nested: each receipt with its fields printed and typed, its line items and reasons."""
    receipts = []
    for r in batch.receipts:
        values = receipt_values(r)
        receipts.append({
            "receipt_id": r.id, "file": r.original_name, "status": r.status.value,
            "error": r.error or "",
            "fields": {name: {"printed": printed, "typed": values.typed.get(name)}
                       for name, printed in values.printed.items()},
            "items": {name: [{"cells": cells, "typed": typed_cells}
                             for cells, typed_cells in zip(rows_, values.items_typed[name],
                                                           strict=True)]
                      for name, rows_ in values.items.items()},
            "review_reasons": [reason.to_json() for reason in values.reasons]})
    return json.dumps({"batch_id": batch.id, "name": batch.name, "receipts": receipts},
                      indent=2, ensure_ascii=False)


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
