"""RECEIPTFLOW_INTERNVL_BATCH_SIZE=auto: the memory model against the measurements it was fitted
to, and the batch it picks for cards of several sizes."""

from __future__ import annotations

import json

import pytest

from shared.config import Settings
from shared.engines.internvl.memory import CPU_BATCH, batch_size, checkpoint_size, footprint

# InternVL3-2B's language model (Qwen2.5-1.5B), as in its config.json.
QWEN_1_5B = {"text_config": {"num_hidden_layers": 28, "num_attention_heads": 12,
                             "num_key_value_heads": 2, "hidden_size": 1536,
                             "intermediate_size": 8960}}
GB = 1024**3


def test_per_receipt_memory_matches_the_h100_measurement() -> None:
    # The measured run: 3 tiles incl. the thumbnail (2 + 1), 64 new tokens; 0.113 GB a
    # receipt between batch 64 (10.4 GB) and 256 (32.1 GB).
    need = footprint(QWEN_1_5B, int(4.4e9), "bf16", max_tiles=2, max_new_tokens=64)
    prompt = 3 * 256 + 160  # the model counts 160 text tokens; the run had 127
    assert need.per_receipt_bytes / 1e9 == pytest.approx(0.113 * prompt / 895, rel=0.05)


@pytest.mark.parametrize(("card_gb", "expected"), [(80, range(200, 300)), (24, range(40, 72)),
                                                   (8, range(1, 8))])
def test_the_batch_grows_with_the_card(card_gb: int, expected: range) -> None:
    need = footprint(QWEN_1_5B, int(4.4e9), "bf16", max_tiles=6, max_new_tokens=256)
    batch = need.batch_for(card_gb * GB)
    assert batch in expected
    peak = need.weight_bytes + batch * need.per_receipt_bytes
    assert peak < card_gb * GB * 0.9  # room left for the margin


def test_a_number_is_kept_and_auto_on_the_cpu_is_small(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert batch_size(Settings(internvl_batch_size=12)) == 12
    assert batch_size(Settings(internvl_batch_size="auto", internvl_device="cpu")) == CPU_BATCH
    with pytest.raises(ValueError, match="1 or more"):
        Settings(internvl_batch_size=0)
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 1000)
    (tmp_path / "config.json").write_text(json.dumps(QWEN_1_5B))
    assert checkpoint_size(tmp_path) == 1000
