"""How many receipts fit on the card at once: ``RECEIPTFLOW_INTERNVL_BATCH_SIZE=auto``.

Peak memory is the weights plus, per receipt, its KV cache (prompt and answer tokens, every
layer) and the activations of its prompt's prefill and vision tower. The activations are one
empirical factor per prompt token, fitted to the H100 measurements of the 2.2B model in bf16
(3 tiles, 895 prompt tokens, 64 new: 10.4 GB peak at batch 64, 32.1 GB at 256, so 0.113 GB a
receipt, 27.5 MB of it KV cache): 5.3 x the MLP width x 2 bytes per prompt token. The batch is
the largest that fits the card's free memory after a margin, sized for the longest prompt the
settings allow (``max_tiles`` tiles and a thumbnail).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from shared.config import Settings

log = logging.getLogger(__name__)

TOKENS_PER_TILE = 256  # InternVL 2.5/3: a 448 px tile is 1024 patches, pixel-shuffled to 256
TEXT_TOKENS = 160  # the prompt's words: field list and instructions
ACTIVATION_FACTOR = 5.3  # x intermediate_size x 2 bytes per prompt token (fitted, see above)
MARGIN = 0.10  # of free memory, for fragmentation and kernels' workspaces
RESERVE_BYTES = 2 * 1024**3  # CUDA context, cuBLAS/cuDNN workspaces, compiled graphs
LIMITS = (1, 512)
CPU_BATCH = 8  # no card to fill: a modest batch keeps latency low
FALLBACK = 64  # a checkpoint whose config cannot be read (a hub id, say)


@dataclass(frozen=True)
class Footprint:
    weight_bytes: int
    per_receipt_bytes: int

    def batch_for(self, free_bytes: int) -> int:
        room = free_bytes * (1 - MARGIN) - self.weight_bytes - RESERVE_BYTES
        batch = int(room // self.per_receipt_bytes)
        if batch >= 16:
            batch -= batch % 8  # shapes the kernels like
        return max(LIMITS[0], min(LIMITS[1], batch))


def footprint(config: dict[str, Any], weight_bytes: int, precision: str, max_tiles: int,
              max_new_tokens: int) -> Footprint:
    text = config.get("text_config", config)
    layers = int(text["num_hidden_layers"])
    heads = int(text["num_attention_heads"])
    kv_heads = int(text.get("num_key_value_heads", heads))
    head_dim = int(text.get("head_dim") or text["hidden_size"] // heads)
    width = int(text.get("intermediate_size", 4 * text["hidden_size"]))
    act_bytes = 4 if precision == "fp32" else 2
    prompt = (max_tiles + 1) * TOKENS_PER_TILE + TEXT_TOKENS
    kv = 2 * layers * kv_heads * head_dim * act_bytes * (prompt + max_new_tokens)
    activations = ACTIVATION_FACTOR * width * act_bytes * prompt
    if precision == "4bit":
        weight_bytes = weight_bytes // 3  # NF4 with bf16 vision tower and head, roughly
    return Footprint(weight_bytes, int(kv + activations))


def checkpoint_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.safetensors"))


def batch_size(settings: Settings) -> int:
    """RECEIPTFLOW_INTERNVL_BATCH_SIZE as a number (``auto`` measured on this card)."""
    if settings.internvl_batch_size != "auto":
        return int(settings.internvl_batch_size)
    from shared.engines.internvl.loading import resolve_device

    return auto_batch_size(settings.internvl_model, resolve_device(settings.internvl_device),
                           settings.internvl_precision, settings.internvl_max_tiles,
                           settings.answer_tokens())


@cache
def auto_batch_size(model: str, device: str, precision: str, max_tiles: int,
                    max_new_tokens: int) -> int:
    if not device.startswith("cuda"):
        return CPU_BATCH
    folder = Path(model)
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        log.warning("batch size auto: %s has no readable config.json; using %d", model,
                    FALLBACK)
        return FALLBACK
    import torch

    free, total = torch.cuda.mem_get_info(torch.device(device))
    need = footprint(config, checkpoint_size(folder), precision, max_tiles, max_new_tokens)
    batch = need.batch_for(free)
    log.info("batch size auto: %d receipts (%.1f of %.1f GB free; weights %.1f GB, %.0f MB a "
             "receipt at %d tiles)", batch, free / 1e9, total / 1e9, need.weight_bytes / 1e9,
             need.per_receipt_bytes / 1e6, max_tiles)
    return batch
