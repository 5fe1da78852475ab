"""Where a serving batch's time goes, stage by stage, on one GPU (used to choose optimizations).

Times one batch of synthetic receipts through each stage of ``InternVLEngine`` separately
(CUDA-synchronized): JPEG decode, ``prepare`` (tiling on the GPU), the vision tower, the whole
prefill, the replayed decode steps, and answer post-processing; then prints the GPU kernels that
take the most time in one ``extract_prepared`` (torch.profiler). Optional variants try
the decoder compiled as it is served on CUDA, and JPEG decoding on the GPU (nvjpeg).

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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-dir", type=Path, required=True)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--compile", action="store_true", help="also try torch.compile variants")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()

    from shared.config import Settings
    from shared.engines.internvl.engine import InternVLEngine
    from shared.engines.internvl.random_model import build
    from shared.images import decode

    if not (args.model_dir / "config.json").exists():
        build(args.model_dir, size="2b", dtype="bfloat16")
    engine = InternVLEngine(SROIE_FIELDS, Settings(
        internvl_model=str(args.model_dir), internvl_precision="bf16", internvl_device="cuda",
        internvl_batch_size=args.batch, internvl_max_new_tokens=args.new_tokens,
        internvl_min_new_tokens=args.new_tokens, internvl_compile=False))
    paths = write_jpegs(Path("/tmp/breakdown-jpegs"), 32, seed=0)
    jpegs = [paths[i % len(paths)].read_bytes() for i in range(args.batch)]
    n = args.batch
    res: dict[str, Any] = {"batch": n, "device": torch.cuda.get_device_name()}

    pool = ThreadPoolExecutor(8)
    t_dec, images = timed(lambda: list(pool.map(lambda d: decode(d, MAX_PIXELS).image, jpegs)))
    t_prep, prepared = timed(lambda: engine.prepare(images))
    group = prepared.groups[0]
    decoder = engine._greedy()
    ids, pixels = group.input_ids, group.pixel_values
    mask = torch.ones_like(ids)
    core = decoder.core
    cfg = decoder.model.config
    with torch.inference_mode():
        t_vis, _ = timed(lambda: core.get_image_features(
            pixel_values=pixels, vision_feature_layer=cfg.vision_feature_layer,
            vision_feature_select_strategy=cfg.vision_feature_select_strategy, return_dict=True))
        slots = decoder._slots_for(n, ids.shape[1] + args.new_tokens, args.new_tokens)
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
        if key.endswith("_s"):
            res[key.replace("_s", "_ms_per_receipt")] = round(value / n * 1000, 3)
    log(json.dumps(res))

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

    with torch.inference_mode(), torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        engine.extract_prepared(prepared)
        torch.cuda.synchronize()
    table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=25)
    print(table, flush=True)
    res["profile_top"] = table

    if args.compile:
        # The decoder as served by default on CUDA: its layer halves and the vision layers
        # compiled (GreedyDecoder(compile=True)).
        from shared.engines.internvl.decoding import GreedyDecoder

        t = time.perf_counter()
        compiled = GreedyDecoder(decoder.model, decoder.eos_ids, compile=True)
        with torch.inference_mode():
            t_pre_c, _ = timed(lambda: compiled._prefill(
                compiled._slots_for(n, ids.shape[1] + args.new_tokens, args.new_tokens),
                ids, mask, pixels))
            compile_s = time.perf_counter() - t
            t_gen_c, _ = timed(lambda: compiled.generate(ids, mask, pixels, args.new_tokens,
                                                         args.new_tokens))
        res.update({"compiled_prefill_ms_per_receipt": t_pre_c / n * 1000,
                    "compiled_generate_ms_per_receipt": t_gen_c / n * 1000,
                    "compile_and_first_runs_s": compile_s, "compiled_graphs": compiled.use_graphs,
                    "compiled_graph_error": compiled.graph_error})
        log(f"compiled: prefill {t_pre_c / n * 1000:.2f} ms/receipt, generate "
            f"{t_gen_c / n * 1000:.2f} ms/receipt (compile + first runs {compile_s:.0f}s)")
    if args.out:
        args.out.write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
