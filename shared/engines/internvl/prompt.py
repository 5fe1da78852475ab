"""The conversation the model sees, shared by serving and training so both use the same text."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shared.fields import FieldSpec


def instruction(fields: Sequence[FieldSpec]) -> str:
    keys = ", ".join(f'"{f.name}" ({f.description})' for f in fields)
    return (
        "Read this receipt and answer with one JSON object with the keys "
        f"{keys}. Write each value exactly as printed on the receipt; use \"\" for a value "
        "that is not on the receipt. Answer with the JSON object only."
    )


def messages(fields: Sequence[FieldSpec]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [
        {"type": "image"},
        {"type": "text", "text": instruction(fields)},
    ]}]


def answer(label: Mapping[str, object], fields: Sequence[FieldSpec]) -> str:
    """The target answer for training: the label's values in field order, compact JSON."""
    return json.dumps({f.name: str(label.get(f.name, "") or "") for f in fields},
                      ensure_ascii=False)


def tile_budget(pages: int, max_tiles: int, document_tiles: int) -> int:
    """Image tiles for a receipt of ``pages`` pages, stacked into one image: one page's budget,
    or for several pages up to the document budget (never less than one page's). The engine
    and the trainer tile alike, so a trained adapter sees what it will serve."""
    if pages <= 1:
        return max_tiles
    return max(max_tiles, min(document_tiles, max_tiles * pages))
