"""InternVL on one GPU, in one process: the recipe's way vs the engine's serving path vs training.

Random-weight model (speed and memory do not depend on the weight values; see
``../shared/docs/gpu.md``), synthetic 800x1800 receipts (3 tiles at max_tiles 6), 64 new tokens
forced with ``min_new_tokens``. Sections:

  (a) recipe: 4-bit NF4, one receipt at a time, plain ``model.generate``;
  (b) serve:  ``InternVLEngine.extract`` in bf16 from JPEG bytes to parsed fields, per batch size;
  (c) train:  ``trainer.qlora.fit`` (QLoRA r=128, gradient checkpointing), optionally bf16 LoRA.

Prints a markdown table at the end and rewrites ``--out`` JSON after every section, so a run cut
off by a time limit keeps what it measured. On an H100 (defaults, 2b):

    python benchmarks/internvl_gpu.py --out $OUT/internvl_gpu.json

CPU smoke run with the tiny model (about a minute on two cores):

    python benchmarks/internvl_gpu.py --size tiny --device cpu --recipe-n 2 --serve-n 8 \\
        --serve-variants eager:4,generate:4 --train-steps 2 --train-batch 2
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import platform
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from PIL import Image, ImageDraw

from shared.engines.internvl import prompt
from shared.fields import SROIE_FIELDS

WIDTH, HEIGHT = 800, 1800
MAX_PIXELS = 50_000_000
T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} +{time.perf_counter() - T0:7.1f}s] {msg}", flush=True)


# ---------------------------------------------------------------- synthetic receipts


def receipt_image(seed: int) -> Image.Image:
    """White page with lines of dark 'words' (rectangles), like a scanned till receipt."""
    rng = random.Random(seed)
    img = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(img)
    y = rng.randint(30, 80)
    while y < HEIGHT - 40:
        x = rng.randint(30, 120)
        height = rng.randint(14, 26)
        while x < WIDTH - 60:
            w = rng.randint(20, 140)
            shade = rng.randint(0, 80)
            draw.rectangle([x, y, min(x + w, WIDTH - 30), y + height], fill=(shade,) * 3)
            x += w + rng.randint(8, 30)
            if rng.random() < 0.15:
                break
        y += height + rng.randint(10, 40)
    return img


def receipt_label(seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    shop = rng.choice(["KEDAI RUNCIT", "BOOK TA .K", "SYARIKAT PERNIAGAAN", "GARDENIA BAKERIES"])
    return {
        "company": f"{shop} {rng.choice(['(TAMAN DAYA) ', ''])}SDN BHD",
        "date": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(16, 19)}",
        "address": f"NO.{rng.randint(1, 99)}, JALAN SAGU {rng.randint(1, 30)}, TAMAN DAYA, "
                   f"{rng.randint(10000, 99999)} JOHOR BAHRU, JOHOR.",
        "total": f"{rng.randint(1, 300)}.{rng.randint(0, 99):02d}",
    }


def write_jpegs(folder: Path, n: int, seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"receipt-{i:03d}.jpg"
        receipt_image(seed + i).save(path, format="JPEG", quality=90)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- helpers


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def peak_gb(device: str) -> float | None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2**30
    return None


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class Report:
    """Results so far; rewritten to ``--out`` after every section."""

    def __init__(self, out: Path | None, meta: dict[str, Any]) -> None:
        self.out = out
        self.data: dict[str, Any] = {"meta": meta, "rows": [], "sections": {}, "notes": []}

    def row(self, path: str, batch: int, rate: float, unit: str, peak: float | None,
            **extra: Any) -> None:
        self.data["rows"].append({"path": path, "batch": batch, "rate": rate, "unit": unit,
                                  "peak_gb": peak, **extra})
        self.save()

    def note(self, text: str) -> None:
        log(f"note: {text}")
        self.data["notes"].append(text)
        self.save()

    def save(self) -> None:
        if self.out is not None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.out.with_suffix(self.out.suffix + ".tmp")
            tmp.write_text(json.dumps(self.data, indent=2, default=str))
            tmp.replace(self.out)


def section(report: Report, name: str, fn: Callable[[], None]) -> None:
    """Run one section; a failure is recorded and the next section still runs."""
    log(f"=== {name} ===")
    started = time.perf_counter()
    status = "ok"
    try:
        fn()
    except Exception as exc:  # a benchmark run should report every section it can
        status = f"failed: {type(exc).__name__}: {exc}"
        traceback.print_exc()
        sys.stderr.flush()
    free_memory()
    seconds = time.perf_counter() - started
    report.data["sections"][name] = {"status": status, "seconds": round(seconds, 2)}
    report.save()
    log(f"=== {name}: {status} in {seconds:.1f}s ===")


# ---------------------------------------------------------------- (a) the recipe's way


def run_recipe(args: argparse.Namespace, model_dir: Path, jpegs: list[bytes],
               report: Report) -> None:
    from shared.documents.images import decode
    from shared.engines.internvl.loading import LoadSpec, load_model, load_processor

    t = time.perf_counter()
    model = load_model(LoadSpec(str(model_dir), "4bit", args.device))
    processor = load_processor(str(model_dir))
    text = processor.apply_chat_template(prompt.messages(SROIE_FIELDS), add_generation_prompt=True)
    log(f"recipe: 4-bit model loaded in {time.perf_counter() - t:.1f}s")

    def one(data: bytes) -> int:
        image = decode(data, MAX_PIXELS).image
        inputs = processor(images=[image], text=[text], return_tensors="pt",
                           images_kwargs={"max_patches": args.max_tiles}).to(model.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=args.new_tokens,
                                 min_new_tokens=args.new_tokens, do_sample=False)
        return out.shape[1] - inputs["input_ids"].shape[1]

    reset_peak(args.device)
    one(jpegs[0])  # warm-up
    sync(args.device)
    t = time.perf_counter()
    new_tokens = [one(jpegs[i % len(jpegs)]) for i in range(args.recipe_n)]
    sync(args.device)
    seconds = time.perf_counter() - t
    rate = args.recipe_n / seconds
    report.row("recipe: 4-bit NF4, one at a time, plain generate", 1, rate, "receipts/s",
               peak_gb(args.device), n=args.recipe_n, seconds=seconds,
               new_tokens=sorted(set(new_tokens)))
    log(f"recipe: {args.recipe_n} receipts in {seconds:.2f}s -> {rate:.3f} receipts/s "
        f"(new tokens per receipt: {sorted(set(new_tokens))})")


# ---------------------------------------------------------------- (b) the engine's serving path


def parse_variants(text: str) -> list[tuple[str, int]]:
    """``graph:128,fp8:128,generate:128`` -> [(kind, batch), ...]."""
    out = []
    for item in text.split(","):
        if item.strip():
            kind, _, batch = item.strip().partition(":")
            if kind not in SERVE_KINDS:
                raise SystemExit(f"unknown serve variant {kind!r}; choose from {SERVE_KINDS}")
            out.append((kind, int(batch or 64)))
    return out


SERVE_KINDS = ("generate", "exact", "eager", "graph", "flash", "fp8", "fp8-flash", "fp8v-flash",
               "fp8s-flash", "fp8sv-flash")
SERVE_LABELS = {
    "generate": "serve: {precision}, transformers generate (reference)",
    "exact": "serve: {precision}, graph decoder, exact attention, not compiled",
    "eager": "serve: {precision}, graph decoder, not compiled",
    "graph": "serve: {precision}, graph decoder, compiled",
    "flash": "serve: {precision}, graph decoder, flash decode attention, compiled",
    "fp8": "serve: fp8 matmuls, graph decoder, compiled",
    "fp8-flash": "serve: fp8 matmuls, graph decoder, flash decode attention, compiled",
    "fp8v-flash": "serve: fp8 matmuls in vision too, graph decoder, flash decode attention, "
                  "compiled",
    "fp8s-flash": "serve: fp8 matmuls, static scales, graph decoder, flash decode attention, "
                  "compiled",
    "fp8sv-flash": "serve: fp8 matmuls in vision too, static scales, graph decoder, flash "
                   "decode attention, compiled",
}


def serve_settings(args: argparse.Namespace, model_dir: Path, kind: str, bs: int) -> Any:
    from shared.config import Settings

    attention = "flash" if kind.endswith("flash") else "exact" if kind == "exact" else "masked"
    return Settings(
        internvl_model=str(model_dir), internvl_precision=args.serve_precision,
        internvl_device=args.device, internvl_batch_size=bs,
        internvl_max_new_tokens=args.new_tokens, internvl_min_new_tokens=args.new_tokens,
        internvl_max_tiles=args.max_tiles,
        internvl_decoder="generate" if kind == "generate" else "graph",
        internvl_fp8=kind.startswith("fp8"),
        internvl_fp8_vision=kind.startswith(("fp8v", "fp8sv")),
        internvl_fp8_static=kind.startswith("fp8s"),
        internvl_compile=kind not in ("generate", "exact", "eager"),
        internvl_decode_attention=attention,
    )


DECODE_POOL = ThreadPoolExecutor(max_workers=8)


def run_serve(args: argparse.Namespace, model_dir: Path, jpegs: list[bytes],
              report: Report) -> None:
    """Each variant serves the same receipts through the engine's three stages, as a worker
    does: JPEG decode + ``prepare`` of batch k+1 and ``interpret`` of batch k-1 on their own
    threads while ``infer`` runs batch k. (Random weights answer in pad tokens that parse to
    empty answers, so answers are compared in the ``agree`` section, on uncut tokens.)"""
    from shared.engines.internvl.engine import InternVLEngine

    engines: dict[str, Any] = {}
    for kind, bs in parse_variants(args.serve_variants):
        label = SERVE_LABELS[kind].format(precision=args.serve_precision)
        if kind not in engines:
            for old in list(engines):  # one model in GPU memory at a time
                del engines[old]
            free_memory()
            # Each engine compiles afresh: the layers' compiled code is shared by code object,
            # and eight engines' worth of variants would hit dynamo's recompile limit.
            torch._dynamo.reset()
            settings = serve_settings(args, model_dir, kind, bs)
            t = time.perf_counter()
            try:
                engines[kind] = InternVLEngine(SROIE_FIELDS, settings)
            except Exception as exc:
                report.note(f"{label}: cannot build the engine: {type(exc).__name__}: {exc}")
                continue
            log(f"serve: {kind} engine loaded in {time.perf_counter() - t:.1f}s")
        n = args.generate_n if kind == "generate" else args.serve_n
        try:
            serve_one(args, engines[kind], jpegs, bs, n, label, report)
        except Exception as exc:
            traceback.print_exc()
            sys.stderr.flush()
            report.note(f"{label}, batch {bs} failed: {type(exc).__name__}: {exc}")
        free_memory()
    engines.clear()


def serve_one(args: argparse.Namespace, engine: Any, jpegs: list[bytes], bs: int, n: int,
              label: str, report: Report) -> None:
    from shared.documents.images import decode
    from shared.pipeline import pipelined

    engine.batch_size = bs
    receipts = [jpegs[i % len(jpegs)] for i in range(n)]
    chunks = [receipts[i:i + bs] for i in range(0, n, bs)]
    # Busy seconds of each stage's thread (they overlap: the GPU stage's is what matters).
    timers = {"prepare_s": 0.0, "infer_s": 0.0, "interpret_s": 0.0}

    def timed(key: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def run(value: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(value)
            finally:
                timers[key] += time.perf_counter() - t
        return run

    def prepare(chunk: list[bytes]) -> Any:
        # PIL releases the GIL while decoding: a batch's files decode in parallel.
        return engine.prepare(list(DECODE_POOL.map(
            lambda data: decode(data, MAX_PIXELS).image, chunk)))

    # The worker's three stages, each on its own thread (worker/batching.py does the same).
    stages = [timed("prepare_s", prepare), timed("infer_s", engine.infer),
              timed("interpret_s", engine.interpret)]

    done_at: list[tuple[float, int]] = []  # (when a batch's results came out, its size)

    def run(chunks: list[list[bytes]]) -> list[Any]:
        results: list[Any] = []
        for _, out in pipelined(chunks, stages, name="serve"):
            if isinstance(out, BaseException):
                raise out
            results.extend(out)
            done_at.append((time.perf_counter(), len(out)))
        return results

    reset_peak(args.device)
    t = time.perf_counter()
    # Warm-up: CUDA graphs captured, kernels chosen; static FP8 scales are calibrated on the
    # first CALIBRATION_RECEIPTS and the layers compiled again for the batch after them.
    from shared.engines.internvl.fp8 import CALIBRATION_RECEIPTS
    run(chunks[:-(-CALIBRATION_RECEIPTS // bs) + 1] if engine.fp8_static else chunks[:1])
    sync(args.device)
    warm = time.perf_counter() - t
    for key in timers:
        timers[key] = 0.0
    done_at.clear()
    t = time.perf_counter()
    results = run(chunks)
    sync(args.device)
    seconds = time.perf_counter() - t
    rate = n / seconds
    # Steady state, as a worker under constant load runs: receipts finished after the first
    # batch / time from the first batch's results to the last's (the queue benchmark's
    # "sustained"), so the pipeline's fill (the first batch's decode and preparation) is left out.
    # Needs a few batches: with two, the second's time overlaps the first's parsing.
    sustained = (sum(size for _, size in done_at[1:]) / (done_at[-1][0] - done_at[0][0])
                 if len(done_at) >= 4 else None)
    unparsed = sum(1 for r in results if r.error)
    breakdown = {k: round(v, 3) for k, v in timers.items()}
    decoder = getattr(engine, "_decoder", None)
    graphs = None if decoder is None else {"use_graphs": decoder.use_graphs,
                                           "graph_error": decoder.graph_error}
    report.row(label, bs, rate, "receipts/s", peak_gb(args.device), n=n, seconds=seconds,
               warmup_s=warm, floor_fraction=rate / args.floor, unparsed=unparsed,
               graphs=graphs, sustained=sustained,
               sustained_floor_fraction=sustained and sustained / args.floor, **breakdown)
    steady = "-" if sustained is None else f"{sustained:.2f}"
    log(f"{label}, batch {bs}: {n} receipts in {seconds:.2f}s -> {rate:.2f} receipts/s "
        f"({rate / args.floor:.1%} of the {args.floor:g}/s floor), sustained {steady}/s, "
        f"warm-up {warm:.1f}s, "
        f"peak {peak_gb(args.device)} GB; {breakdown}; {unparsed}/{n} unparseable; "
        f"graphs {graphs}")


def run_agree(args: argparse.Namespace, model_dir: Path, jpegs: list[bytes],
              report: Report) -> None:
    """Do the fast paths give the reference's tokens? All 64 forced tokens of every receipt
    (uncut), one batch, same weights. A random model is indecisive (its top two logits are
    near-ties at many steps, so any rounding difference flips a choice), so this runs twice:
    on the random weights as they are (which mostly echo their input token), and with every
    weight matrix scaled by --sharpen, which makes the answers depend on the image. Sharpened
    attention is close to a hard maximum, so there any rounding difference in any layer
    changes the answer: a strict check of bit-for-bit equality, not a model of a trained one
    (measured: the compiled decoder, 0% of tokens equal to generate's; exact, 100%)."""
    from shared.documents.images import decode
    from shared.engines.internvl import fp8
    from shared.engines.internvl.engine import InternVLEngine

    images = [decode(data, MAX_PIXELS).image for data in jpegs[:args.agree_n]]
    for scale in dict.fromkeys((1.0, args.sharpen)):
        tokens: dict[str, torch.Tensor] = {}
        # A kind listed twice runs twice ("generate#2"): is the reference repeatable at all?
        kinds = args.agree_variants.split(",")
        for name in [k if k not in kinds[:i] else f"{k}#2" for i, k in enumerate(kinds)]:
            kind = name.partition("#")[0]
            torch._dynamo.reset()  # as in run_serve
            try:
                engine = InternVLEngine(SROIE_FIELDS, serve_settings(args, model_dir, kind,
                                                                     len(images)))
            except Exception as exc:
                report.note(f"agree: {kind}: cannot build the engine: {exc}")
                continue
            with torch.no_grad():
                for weight in engine.model.parameters():
                    if weight.dim() >= 2:
                        weight.mul_(scale)
            group = engine.prepare(images).groups[0]
            mask = torch.ones_like(group.input_ids)
            with torch.inference_mode():
                if kind == "generate":
                    out = engine.model.generate(
                        input_ids=group.input_ids, attention_mask=mask,
                        pixel_values=group.pixel_values, max_new_tokens=args.new_tokens,
                        min_new_tokens=args.new_tokens, do_sample=False)
                    tokens[name] = out[:, group.input_ids.shape[1]:].cpu()
                else:
                    decode = engine._greedy().generate
                    if engine.fp8_static:  # calibrate on this batch first, as served
                        decode(group.input_ids, mask, group.pixel_values, args.new_tokens)
                        fp8.end_calibration(engine.model)
                    tokens[name] = decode(group.input_ids, mask, group.pixel_values,
                                          args.new_tokens, args.new_tokens).tokens
            del engine
            free_memory()
        for a, b in (("exact", "generate"), ("eager", "generate"), ("graph", "generate"),
                     ("graph", "eager"), ("flash", "graph"), ("fp8", "graph"),
                     ("fp8-flash", "flash"), ("fp8v-flash", "flash"), ("fp8s-flash", "flash"),
                     ("fp8sv-flash", "flash"),
                     *((f"{k}#2", k) for k in dict.fromkeys(kinds))):
            if a in tokens and b in tokens:
                x, y = tokens[a], tokens[b]
                info = {"a": a, "b": b, "weight_scale": scale, "receipts": x.shape[0],
                        "identical_answers": float((x == y).all(1).float().mean()),
                        "identical_tokens": float((x == y).float().mean()),
                        "distinct_reference_answers": len({tuple(r) for r in y.tolist()}),
                        "distinct_tokens_in_reference": len(set(y.flatten().tolist()))}
                report.data.setdefault("agreement", []).append(info)
                report.note(f"agree (weights x{scale:g}): {a} vs {b}: "
                            f"{info['identical_answers']:.1%} identical answers, "
                            f"{info['identical_tokens']:.1%} identical tokens over "
                            f"{x.shape[0]} receipts x {x.shape[1]} tokens (reference: "
                            f"{info['distinct_reference_answers']} distinct answers, "
                            f"{info['distinct_tokens_in_reference']} distinct tokens)")


# ---------------------------------------------------------------- (c) training


# Tokens of --train-variants, joined with "+" (e.g. "new+nockpt+b16"): TrainParams overrides.
TRAIN_TOKENS: dict[str, dict[str, Any]] = {
    "new": {},  # TrainParams' defaults
    # The loop as it was before the speed options: full logits, fp32 upcast, serial processor.
    "old": {"answer_only_loss": False, "fp32_upcast": True, "cache_image_features": False,
            "num_workers": 0, "fused_adamw": False},
    "ckpt": {"gradient_checkpointing": True}, "nockpt": {"gradient_checkpointing": False},
    "cache": {"cache_image_features": True}, "nocache": {"cache_image_features": False},
    "answer": {"answer_only_loss": True}, "full": {"answer_only_loss": False},
    "upcast": {"fp32_upcast": True}, "noupcast": {"fp32_upcast": False},
    "fused": {"fused_adamw": True}, "unfused": {"fused_adamw": False},
}


def train_overrides(variant: str) -> dict[str, Any]:
    """TrainParams overrides of a variant; also w<N> (data workers) and b<N> (batch size)."""
    out: dict[str, Any] = {}
    for token in variant.split("+"):
        if token in TRAIN_TOKENS:
            out.update(TRAIN_TOKENS[token])
        elif token[:1] in "wb" and token[1:].isdigit():
            out["num_workers" if token[0] == "w" else "batch_size"] = int(token[1:])
        else:
            raise ValueError(f"unknown train variant token {token!r}")
    return out


def run_train(args: argparse.Namespace, model_dir: Path, paths: list[Path], precision: str,
              report: Report, variant: str = "new") -> None:
    from trainer.data import Labelled
    from trainer.qlora import TrainParams, fit

    overrides = {"gradient_checkpointing": True, "batch_size": args.train_batch,
                 **train_overrides(variant)}
    batch = overrides["batch_size"]
    # --train-epochs passes over one set of receipts, --train-steps steps in all (a later epoch
    # reads the image feature cache).
    n = max(1, args.train_steps * batch // args.train_epochs)
    examples = [Labelled(f"synthetic-{i}", receipt_label(args.seed + i), path=paths[i % len(paths)])
                for i in range(n)]
    params = TrainParams(**{**dict(epochs=float(args.train_epochs), lora_r=128, lora_alpha=256,
                                   precision=precision, max_tiles=args.max_tiles,
                                   seed=args.seed), **overrides})
    stamps: list[float] = []

    def progress(step: int, total: int, loss: float) -> None:
        sync(args.device)
        stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory(prefix="internvl-adapter-") as out:
        t = time.perf_counter()
        result = fit(str(model_dir), examples, SROIE_FIELDS, params, Path(out),
                     device=args.device, progress=progress)
        log(f"train {precision} {variant}: fit() returned after {time.perf_counter() - t:.1f}s "
            "(model load + steps + adapter save)")
    # fit's own rate includes the first step (CUDA/cuBLAS warm-up); the steady rate leaves it out.
    steady = None
    if len(stamps) >= 2:
        steady = (len(stamps) - 1) * batch / (stamps[-1] - stamps[0])
    kind = "QLoRA 4-bit" if precision == "4bit" else f"LoRA {precision}"
    name = (f"train: {kind}, r=128, {variant}, "
            f"{'grad ckpt' if params.gradient_checkpointing else 'no ckpt'}")
    peak = result.peak_memory_gb
    options = {k: v for k, v in params.to_dict().items() if k in overrides}
    report.row(f"{name} (fit's rate, first step included)", batch, result.samples_per_s,
               "samples/s", peak, steps=len(stamps), seconds=result.seconds,
               losses=result.losses, options=options)
    if steady is not None:
        report.row(f"{name} (steady: first step excluded)", batch, steady, "samples/s", peak,
                   steps=len(stamps) - 1, seconds=stamps[-1] - stamps[0], options=options)
    per_epoch = len(stamps) // args.train_epochs
    last = None
    if args.train_epochs > 1 and 0 < per_epoch < len(stamps):
        last = per_epoch * batch / (stamps[-1] - stamps[-1 - per_epoch])
        report.row(f"{name} (last epoch only)", batch, last, "samples/s", peak,
                   steps=per_epoch, options=options)
    log(f"{name}: {result.samples} samples in {result.seconds:.2f}s -> "
        f"{result.samples_per_s:.2f} samples/s as fit reports it (first step included); "
        f"steady {steady if steady is None else round(steady, 2)} samples/s; "
        f"last epoch {last if last is None else round(last, 2)} samples/s; "
        f"peak {peak if peak is None else round(peak, 2)} GB; "
        f"loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}")


# ---------------------------------------------------------------- main


def table(report: Report, floor: float) -> str:
    lines = ["| path | batch | rate | sustained | peak GB | of floor (sustained) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in report.data["rows"]:
        peak = "-" if r["peak_gb"] is None else f"{r['peak_gb']:.1f}"
        frac = f"{r['floor_fraction']:.1%}" if "floor_fraction" in r else "-"
        steady = "-"
        if r.get("sustained"):
            steady = f"{r['sustained']:.2f}"
            frac += f" ({r['sustained_floor_fraction']:.1%})"
        lines.append(f"| {r['path']} | {r['batch']} | {r['rate']:.2f} {r['unit']} | {steady} "
                     f"| {peak} | {frac} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=["2b", "tiny"], default="2b")
    p.add_argument("--device", default="cuda")
    p.add_argument("--model-dir", type=Path, default=None,
                   help="reuse a random-weight checkpoint folder instead of building one")
    p.add_argument("--sections", default="recipe,serve,train",
                   help="comma list of recipe, serve, agree, train")
    p.add_argument("--recipe-n", type=int, default=8)
    p.add_argument("--serve-n", type=int, default=1024, help="receipts per serving variant")
    p.add_argument("--generate-n", type=int, default=256,
                   help="receipts for the (slow) transformers-generate reference")
    p.add_argument("--serve-variants",
                   default="generate:128,exact:128,flash:64,flash:128,fp8-flash:128",
                   help="comma list of KIND:BATCH, KIND one of " + ", ".join(SERVE_KINDS))
    p.add_argument("--serve-precision", choices=["bf16", "fp32", "4bit"], default="bf16")
    p.add_argument("--agree-n", type=int, default=64, help="receipts in the agreement check")
    p.add_argument("--agree-variants", default="generate,exact,eager,graph,flash,fp8",
                   help="comma list of serve kinds whose tokens the agreement check compares")
    p.add_argument("--sharpen", type=float, default=8.0,
                   help="agreement check: also with every weight matrix scaled by this")
    p.add_argument("--train-steps", type=int, default=20)
    p.add_argument("--train-batch", type=int, default=8)
    p.add_argument("--train-bf16", action="store_true", help="also train plain LoRA on bf16")
    p.add_argument("--train-variants", default="new",
                   help="comma list of trainer settings to run side by side, each tokens joined "
                        "by '+': new (TrainParams defaults), old (before the speed options), "
                        "ckpt/nockpt, cache/nocache, answer/full, upcast/noupcast, "
                        "fused/unfused, w<N> data workers, b<N> batch; e.g. old,new,new+nockpt")
    p.add_argument("--train-epochs", type=int, default=1,
                   help="passes over the receipts within --train-steps (2+: cached features)")
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--max-tiles", type=int, default=6)
    p.add_argument("--images", type=int, default=64, help="distinct synthetic JPEGs")
    p.add_argument("--floor", type=float, default=190.0,
                   help="arithmetic-floor receipts/s of the serving path (H100: ~190)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-cudnn-attention", action="store_true",
                   help="turn PyTorch's cuDNN attention kernel off for the whole run (is the "
                        "reference repeatable with the other kernels?)")
    p.add_argument("--out", type=Path, default=None, help="JSON results, rewritten per section")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    import transformers

    args = parse_args(argv)
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise SystemExit("--device cuda but torch sees no GPU; use --device cpu --size tiny")
    if args.no_cudnn_attention:
        torch.backends.cuda.enable_cudnn_sdp(False)
    meta = {
        "device": torch.cuda.get_device_name(args.device) if cuda
        else f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)",
        "torch": torch.__version__, "transformers": transformers.__version__,
        "python": platform.python_version(), "args": vars(args),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    try:
        import bitsandbytes
        import peft

        meta["bitsandbytes"], meta["peft"] = bitsandbytes.__version__, peft.__version__
    except ImportError as exc:
        meta["import_error"] = str(exc)
    report = Report(args.out, meta)
    report.save()
    log(json.dumps({k: v for k, v in meta.items() if k != "args"}))

    with tempfile.TemporaryDirectory(prefix="internvl-bench-") as tmp:
        work = Path(tmp)
        model_dir = args.model_dir
        if model_dir is None or not (model_dir / "config.json").exists():
            from shared.engines.internvl.random_model import build

            model_dir = model_dir or work / f"internvl-{args.size}"
            t = time.perf_counter()
            build(model_dir, size=args.size, seed=args.seed,
                  dtype="bfloat16" if cuda else "float32")
            log(f"built random-weight {args.size} model in {time.perf_counter() - t:.1f}s "
                f"at {model_dir}")
        else:
            log(f"reusing model at {model_dir}")
        t = time.perf_counter()
        paths = write_jpegs(work / "jpegs", args.images, args.seed)
        jpegs = [p.read_bytes() for p in paths]
        with Image.open(io.BytesIO(jpegs[0])) as probe:
            log(f"{len(paths)} synthetic JPEGs {probe.size[0]}x{probe.size[1]}, "
                f"{sum(map(len, jpegs)) / len(jpegs) / 1024:.0f} KB each, "
                f"in {time.perf_counter() - t:.1f}s")

        if "recipe" in sections:
            section(report, "recipe", lambda: run_recipe(args, model_dir, jpegs, report))
        if "serve" in sections:
            section(report, "serve", lambda: run_serve(args, model_dir, jpegs, report))
        if "agree" in sections:
            section(report, "agree", lambda: run_agree(args, model_dir, jpegs, report))
        if "train" in sections:
            variants = [v.strip() for v in args.train_variants.split(",") if v.strip()]
            for precision in ["4bit"] + (["bf16"] if args.train_bf16 else []):
                for v in variants:
                    section(report, f"train {precision} {v}",
                            lambda p=precision, v=v: run_train(args, model_dir, paths, p, report,
                                                               v))

    report.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    report.save()
    print(f"\nDevice: {meta['device']}; torch {meta['torch']}, "
          f"transformers {meta['transformers']}; {args.size} model, "
          f"{args.new_tokens} new tokens forced; "
          f"floor {args.floor:g} receipts/s (H100 estimate, ../shared/docs/gpu.md)\n", flush=True)
    print(table(report, args.floor), flush=True)
    for name, info in report.data["sections"].items():
        if info["status"] != "ok":
            print(f"\nsection {name}: {info['status']}", flush=True)
    for text in report.data["notes"]:
        print(f"\nnote: {text}", flush=True)
    return 0 if all(i["status"] == "ok" for i in report.data["sections"].values()) else 1


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    raise SystemExit(main())
