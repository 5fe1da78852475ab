"""Which attention kernel each of the engine's attention calls can use, and why not cuDNN's.

On an H100 PyTorch prefers cuDNN's fused attention; a call whose inputs cuDNN rejects falls
back to another kernel, which for the vision tower's and the prefill's shapes measured up to
twice as slow. This runs one small batch through the engine uncompiled (so every
``scaled_dot_product_attention`` call is a Python call that can be watched) and records, per
call site, the q/k/v shapes, strides and dtypes and the reasons PyTorch gives for not using
cuDNN (``can_use_cudnn_attention(..., debug=True)``), for bf16 and with ``--fp8``.

    python benchmarks/attention_backends.py --model-dir /tmp/m2b --fp8
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
import torch.nn.functional as F
from torch.backends.cuda import SDPAParams, can_use_cudnn_attention, can_use_flash_attention

from benchmarks.internvl_gpu import MAX_PIXELS, write_jpegs
from shared.fields import SROIE_FIELDS


def layout(t: torch.Tensor) -> str:
    return f"{tuple(t.shape)} stride {t.stride()} {str(t.dtype).removeprefix('torch.')}"


def watch(calls: Counter[str]) -> Any:
    original = F.scaled_dot_product_attention
    decode_sites: set[str] = set()

    def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_mask: Any = None,
             dropout_p: float = 0.0, is_causal: bool = False, scale: Any = None,
             enable_gqa: bool = False) -> torch.Tensor:
        caller = traceback.extract_stack(limit=2)[0]
        site = f"{Path(caller.filename).name}:{caller.lineno} {caller.name}"
        if q.shape[-2] == 1:  # decode steps: each has its own cache length; keep the first
            if site in decode_sites:
                return original(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p,
                                is_causal=is_causal, scale=scale, enable_gqa=enable_gqa)
            decode_sites.add(site)
        params = SDPAParams(q, k, v, attn_mask, dropout_p, is_causal, enable_gqa)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cudnn = q.is_cuda and can_use_cudnn_attention(params, True)
            flash = q.is_cuda and can_use_flash_attention(params, False)
        why = "; ".join(sorted({str(w.message)[:160] for w in caught}))
        calls[json.dumps({"site": site, "q": layout(q), "k": layout(k), "v": layout(v),
                          "mask": attn_mask is not None, "causal": is_causal,
                          "gqa": enable_gqa, "cudnn": cudnn, "flash": flash,
                          "why_not_cudnn": why})] += 1
        return original(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal,
                        scale=scale, enable_gqa=enable_gqa)

    return original, sdpa


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-dir", type=Path, required=True)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--fp8", action="store_true")
    p.add_argument("--device", default="cuda")
    p.add_argument("--size", default="2b", choices=("2b", "tiny"))
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()

    from shared.config import Settings
    from shared.documents.images import decode
    from shared.engines.internvl.engine import InternVLEngine
    from shared.engines.internvl.random_model import build

    if not (args.model_dir / "config.json").exists():
        build(args.model_dir, size=args.size, dtype="bfloat16")
    engine = InternVLEngine(SROIE_FIELDS, Settings(
        internvl_model=str(args.model_dir), internvl_precision="bf16", internvl_device=args.device,
        internvl_batch_size=args.batch, internvl_max_new_tokens=8, internvl_min_new_tokens=8,
        internvl_compile=False, internvl_fp8=args.fp8))
    paths = write_jpegs(Path("/tmp/attention-jpegs"), args.batch, seed=0)
    images = [decode(path.read_bytes(), MAX_PIXELS).image for path in paths]
    calls: Counter[str] = Counter()
    original, sdpa = watch(calls)
    F.scaled_dot_product_attention = sdpa
    try:
        engine.extract_prepared(engine.prepare(images))
    finally:
        F.scaled_dot_product_attention = original
    rows = [json.loads(key) | {"calls": n} for key, n in calls.items()]
    for row in rows:
        print(json.dumps(row), flush=True)
    if args.out:
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else args.device
        args.out.write_text(json.dumps({"fp8": args.fp8, "device": device,
                                        "torch": torch.__version__, "calls": rows}, indent=2))


if __name__ == "__main__":
    main()
