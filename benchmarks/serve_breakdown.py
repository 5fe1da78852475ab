"""Where a serving batch's time goes, stage by stage, on one GPU (used to choose optimizations).

Times one batch of synthetic receipts through each stage of ``InternVLEngine`` separately
(CUDA-synchronized): JPEG decode, ``prepare`` (tiling on the GPU), the vision tower, the whole
prefill, the replayed decode steps, and answer post-processing. Then profiles the vision tower,
the prefill and a whole ``generate`` (torch.profiler), and sums each one's GPU time by kind of
kernel (matrix products, attention, compiled fused kernels, other elementwise work), with the
top kernels. The engine is built as it is served on CUDA (layers compiled) unless ``--eager``.

    python benchmarks/serve_breakdown.py --model-dir /tmp/m2b --batch 128 --out $OUT/b.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.internvl_gpu import MAX_PIXELS, log, write_jpegs
from shared.fields import SROIE_FIELDS

KINDS = (  # first match wins (a Triton kernel's name lists the ops it fused, e.g. _scaled_mm)
    ("compiled (triton)", ("triton",)),
    ("attention", ("sdpa", "flash", "fmha", "attention")),
    ("matmul", ("nvjet", "gemm", "cutlass", "xmma", "scaled_mm", "cublas")),
    ("copy", ("memcpy", "memset", "copy", "cat")),
    ("elementwise/reduce", ("elementwise", "reduce", "norm", "softmax")),
)


def kind_of(kernel: str) -> str:
    name = kernel.lower()
    return next((kind for kind, marks in KINDS if any(m in name for m in marks)), "other")


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best of ``repeat`` CUDA-synchronized runs (after one warm-up)."""
    out = fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best, out


def profiled(name: str, fn: Callable[[], Any], n: int) -> dict[str, Any]:
    """GPU time of one run of ``fn`` by kind of kernel (ms per receipt) and its top kernels."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    events = prof.key_averages()

    def gpu_us(e: Any) -> float:
        return float(e.self_device_time_total)

    kinds: dict[str, float] = {}
    for e in events:
        kind = kind_of(e.key)
        kinds[kind] = kinds.get(kind, 0.0) + gpu_us(e)
    total = sum(kinds.values())
    top = sorted(events, key=gpu_us, reverse=True)[:12]
    out = {
        "gpu_ms_per_receipt": round(total / n / 1000, 3),
        "by_kind_ms_per_receipt": {k: round(v / n / 1000, 3)
                                   for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
        "top_kernels": [{"kernel": e.key[:90], "calls": e.count,
                         "ms_per_receipt": round(gpu_us(e) / n / 1000, 3)} for e in top],
    }
    log(f"profile {name}: {out['gpu_ms_per_receipt']} GPU ms/receipt; "
        f"{out['by_kind_ms_per_receipt']}")
    for row in out["top_kernels"]:
        log(f"    {row['ms_per_receipt']:7.3f} ms  x{row['calls']:<5} {row['kernel']}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-dir", type=Path, required=True)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--eager", action="store_true", help="do not compile the layers")
    p.add_argument("--fp8", action="store_true", help="FP8 matrix products")
    p.add_argument("--fp8-vision", action="store_true", help="with --fp8: in the vision tower too")
    p.add_argument("--attention", choices=("flash", "exact", "masked"), default="flash",
                   help="decode attention (the serving default is flash)")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()

    from shared.config import Settings
    from shared.documents.images import decode
    from shared.engines.internvl.engine import InternVLEngine
    from shared.engines.internvl.random_model import build

    if not (args.model_dir / "config.json").exists():
        build(args.model_dir, size="2b", dtype="bfloat16")
    engine = InternVLEngine(SROIE_FIELDS, Settings(
        internvl_model=str(args.model_dir), internvl_precision="bf16", internvl_device="cuda",
        internvl_batch_size=args.batch, internvl_max_new_tokens=args.new_tokens,
        internvl_min_new_tokens=args.new_tokens, internvl_compile=not args.eager,
        internvl_fp8=args.fp8, internvl_fp8_vision=args.fp8_vision,
        internvl_decode_attention=args.attention))
    paths = write_jpegs(Path("/tmp/breakdown-jpegs"), 32, seed=0)
    jpegs = [paths[i % len(paths)].read_bytes() for i in range(args.batch)]
    n = args.batch
    res: dict[str, Any] = {"batch": n, "device": torch.cuda.get_device_name(),
                           "compiled": not args.eager, "fp8": args.fp8,
                           "fp8_vision": args.fp8_vision, "attention": args.attention}

    pool = ThreadPoolExecutor(8)
    t_dec, images = timed(lambda: list(pool.map(lambda d: decode(d, MAX_PIXELS).image, jpegs)))
    t_prep, prepared = timed(lambda: engine.prepare(images))
    group = prepared.groups[0]
    t = time.perf_counter()
    engine.extract_prepared(prepared)  # builds the decoder, compiles, captures the graphs
    torch.cuda.synchronize()
    res["first_batch_s"] = time.perf_counter() - t
    decoder = engine._greedy()
    ids, pixels = group.input_ids, group.pixel_values
    mask = torch.ones_like(ids)
    core = decoder.core
    cfg = decoder.model.config

    def vision() -> Any:
        return core.get_image_features(
            pixel_values=pixels, vision_feature_layer=cfg.vision_feature_layer,
            vision_feature_select_strategy=cfg.vision_feature_select_strategy, return_dict=True)

    slots = decoder._slots_for(n, ids.shape[1] + args.new_tokens, args.new_tokens)
    with torch.inference_mode():
        t_vis, _ = timed(vision)
        t_pre, _ = timed(lambda: decoder._prefill(slots, ids, mask, pixels))
        t_gen, _ = timed(lambda: decoder.generate(ids, mask, pixels, args.new_tokens,
                                                  args.new_tokens))
        t_all, _ = timed(lambda: engine.extract_prepared(prepared))
    res.update({"jpeg_decode_s": t_dec, "prepare_s": t_prep, "vision_s": t_vis,
                "prefill_s": t_pre, "generate_s": t_gen, "decode_steps_s": t_gen - t_pre,
                "extract_prepared_s": t_all, "postprocess_s": t_all - t_gen,
                "graphs": decoder.use_graphs, "graph_error": decoder.graph_error,
                "prompt_tokens": ids.shape[1], "tiles": pixels.shape[0]})
    for key, value in list(res.items()):
        if key.endswith("_s") and key != "first_batch_s":
            res[key.removesuffix("_s") + "_ms_per_receipt"] = round(value / n * 1000, 3)
    log(json.dumps({k: v for k, v in res.items() if not k.endswith("_s")}))

    with torch.inference_mode():
        res["profile"] = {
            "vision": profiled("vision", vision, n),
            "prefill": profiled("prefill", lambda: decoder._prefill(slots, ids, mask, pixels), n),
            "generate": profiled("generate", lambda: decoder.generate(
                ids, mask, pixels, args.new_tokens, args.new_tokens), n),
        }

    # nvjpeg decode straight to the GPU, then the same image processor.
    try:
        from torchvision.io import decode_jpeg

        datas = [torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in jpegs]
        t_nv, gpu_imgs = timed(lambda: decode_jpeg(datas, device="cuda"))
        kwargs = {"max_patches": engine.max_tiles, "return_tensors": "pt", "device": "cuda"}
        t_nvprep, out = timed(lambda: engine.processor.image_processor(images=gpu_imgs, **kwargs))
        diff = (out["pixel_values"].to(pixels.dtype) - pixels).abs().max().item()
        res.update({"nvjpeg_decode_ms_per_receipt": t_nv / n * 1000,
                    "tiles_from_gpu_tensors_ms_per_receipt": t_nvprep / n * 1000,
                    "nvjpeg_vs_pil_max_abs_pixel_diff": diff})
        log(f"nvjpeg: decode {t_nv / n * 1000:.2f} ms/receipt, tiles {t_nvprep / n * 1000:.2f} "
            f"ms/receipt, max |pixel diff| vs PIL path {diff:.4f}")
    except Exception as exc:  # report and go on
        res["nvjpeg_error"] = f"{type(exc).__name__}: {exc}"
        log(res["nvjpeg_error"])
    if args.out:
        args.out.write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
