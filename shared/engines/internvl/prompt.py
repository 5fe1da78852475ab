"""The conversation the model sees, shared by serving and training so both use the same text."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shared.fields import FieldSpec


def instruction(fields: Sequence[FieldSpec]) -> str:
    keys = ", ".join(_key(f) for f in fields)
    return (
        "Read this receipt and answer with one JSON object with the keys "
        f"{keys}. Write each value exactly as printed on the receipt; use \"\" for a value "
        "that is not on the receipt. Answer with the JSON object only."
    )


def _key(spec: FieldSpec) -> str:
    if not spec.is_table:
        return f'"{spec.name}" ({spec.description})'
    columns = ", ".join(f'"{c.name}" ({c.description})' for c in spec.columns or [])
    return f'"{spec.name}" ({spec.description}: a list, one object per line with {columns})'


def fields_for(label: Mapping[str, object], fields: Sequence[FieldSpec]) -> list[FieldSpec]:
    """The fields a training label teaches: a table field only when the label has its rows,
    so a folder labelled without line items (SROIE) does not teach "no items"."""
    return [f for f in fields if not f.is_table or isinstance(label.get(f.name), list)]


def messages(fields: Sequence[FieldSpec]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [
        {"type": "image"},
        {"type": "text", "text": instruction(fields)},
    ]}]


def answer(label: Mapping[str, object], fields: Sequence[FieldSpec]) -> str:
    """The target answer for training: the label's values in field order, compact JSON; a
    table field's rows with every column, in column order."""
    out: dict[str, object] = {}
    for f in fields:
        value = label.get(f.name, "")
        if f.is_table:
            rows = value if isinstance(value, list) else []
            out[f.name] = [{c.name: str(row.get(c.name, "") or "") for c in f.columns or []}
                           for row in rows if isinstance(row, Mapping)]
        else:
            out[f.name] = str(value or "")
    return json.dumps(out, ensure_ascii=False)


def tile_budget(pages: int, max_tiles: int, document_tiles: int) -> int:
    """Image tiles for a receipt of ``pages`` pages, stacked into one image: one page's budget,
    or for several pages up to the document budget (never less than one page's). The engine
    and the trainer tile alike, so a trained adapter sees what it will serve."""
    if pages <= 1:
        return max_tiles
    return max(max_tiles, min(document_tiles, max_tiles * pages))
