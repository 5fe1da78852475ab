"""Token offsets for per-field confidence: the fast path must give the prefix decodes' answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.engines.internvl.confidence import token_char_ends


def _prefix_ends(tokenizer, ids: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    return [len(tokenizer.decode(ids[:i], skip_special_tokens=True))
            for i in range(1, len(ids) + 1)]


@pytest.mark.parametrize("text", [
    '{"company": "SYARIKAT PERNIAGAAN GIN KEE", "date": "23/03/2018", "total": "31.80"}',
    '{"company": "Café Zürich", "address": "12 Straße", "total": "€ 9,50 — 日本"}',
    "  spaced   out\n\ttext  ",
])
def test_token_ends_match_prefix_decodes(tiny_internvl: Path, text: str) -> None:
    from shared.engines.internvl.loading import load_processor

    tokenizer = load_processor(str(tiny_internvl)).tokenizer
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert token_char_ends(tokenizer, ids) == _prefix_ends(tokenizer, ids)
    eos = tokenizer.eos_token_id  # special tokens decode to nothing
    assert token_char_ends(tokenizer, [*ids, eos]) == _prefix_ends(tokenizer, [*ids, eos])
