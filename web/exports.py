"""Batch exports: one row per receipt with its final values (corrections win)."""

from __future__ import annotations

import csv
import io
import json

from shared.db.models import Batch
from shared.results import final_values
from web.presenters import field_names

_META = ["receipt_id", "file", "status", "error"]


def rows(batch: Batch) -> list[dict[str, object]]:
    names = field_names(batch)
    return [
        {"receipt_id": r.id, "file": r.original_name, "status": r.status.value,
         "error": r.error or "", **final_values(r, names)}
        for r in batch.receipts
    ]


def to_csv(batch: Batch) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_META + field_names(batch))
    writer.writeheader()
    writer.writerows(rows(batch))
    return buf.getvalue()


def to_json(batch: Batch) -> str:
    return json.dumps({"batch_id": batch.id, "name": batch.name, "receipts": rows(batch)},
                      indent=2)
