"""QLoRA fine-tuning of InternVL on labelled receipts: a lean loop of our own.

Why not trl's SFTTrainer: for a vision-language model it needs its own collator anyway, and
what matters here is exact control of two things — the prompt goes through the very processor
and chat template the engine serves with (``shared/engines/internvl/prompt.py``), and the loss
covers the answer tokens only (the image and prompt tokens are masked with -100, unlike the
recipe we started from). The loop is ~80 lines; trl would add a dataset/config layer around it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from shared.documents.layout import stack_images
from shared.engines.internvl import prompt
from shared.engines.internvl.loading import LoadSpec, load_model, load_processor, resolve_device
from shared.engines.internvl.prompt import tile_budget
from shared.fields import FieldSpec
from trainer.data import Labelled
from trainer.recipes import Progress

IGNORE = -100
# LoRA on the language model's linear layers only; the vision tower stays frozen.
LLM_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


@dataclass
class TrainParams:
    epochs: float = 3.0
    batch_size: int = 8
    grad_accum: int = 1
    learning_rate: float = 2e-4
    warmup_ratio: float = 0.03
    lora_r: int = 128
    lora_alpha: int = 256
    lora_dropout: float = 0.05
    max_tiles: int = 6
    document_tiles: int = 12  # a receipt of several pages, as RECEIPTFLOW_INTERNVL_DOCUMENT_TILES
    precision: str = "4bit"  # 4bit (QLoRA) | bf16 (plain LoRA) | fp32 (CPU)
    # None: off where the GPU has room for the activations (measured on an H100, 2B model,
    # 3 tiles, batch 8: 32.7 GB without vs 21.1 GB with, for 17.8 vs ~6 samples/s), else on.
    gradient_checkpointing: bool | None = None
    seed: int = 0
    # Speed options: each can be switched off to measure it side by side (benchmarks/
    # internvl_gpu.py --train-variants). None changes what is learned beyond float rounding.
    # Gains below were predicted for the H100, 2B model, QLoRA r=128, batch 8, 3 tiles; all of
    # them together with checkpointing off measured 4.1 -> 17.8 samples/s (run7 in
    # benchmarks/results).
    #
    # lm_head (151k x 1536) and the loss on the ~60 answer positions only, not all ~920: saves
    # ~0.85 TFLOP and ~1 GB of logits per sample, ~10-20 ms/sample (+5-10 %), ~4 GB at batch 8.
    answer_only_loss: bool = True
    # True: peft's prepare_model_for_kbit_training, which casts every non-4-bit weight (vision
    # tower, embeddings, norms, lm_head) to fp32, so the whole residual stream runs in fp32
    # under autocast. Off: frozen weights stay bf16 (fp32 on the CPU), as in bf16 LoRA; predicted
    # +25-40 % (most of the 4.6 vs 7.4 samples/s gap between QLoRA and bf16 LoRA), a few GB less.
    fp32_upcast: bool = False
    # The frozen vision tower + projector run once per receipt, not once per epoch (no image
    # augmentation, so the features are the same): ~2.5 TFLOP, ~8-12 ms/sample saved in every
    # epoch after the first (+5-8 %). Kept on the training device up to feature_cache_gb
    # (~3 MB per 3-tile receipt), beyond it in CPU memory.
    cache_image_features: bool = True
    feature_cache_gb: float = 8.0
    # The processor (~25 ms CPU per receipt) runs in DataLoader worker processes, ahead of the
    # GPU, instead of serially in the loop: ~25 ms/sample (+10-15 %). -1: min(4, CPUs) on CUDA,
    # 0 on the CPU, where workers would only take cores from the model.
    num_workers: int = -1
    # One fused CUDA kernel for AdamW over the ~150M LoRA parameters: ~1 ms/step, under 1 %.
    fused_adamw: bool = True

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainParams:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    samples: int = 0
    peak_memory_gb: float | None = None
    model: Any = None  # the trained peft model, only when fit(..., keep_model=True)

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds else 0.0




class Collator:
    """Builds a training batch: per example, processor(prompt with image) + answer tokens.

    Picklable (a processor and plain data), so DataLoader workers can run it."""

    def __init__(self, processor: Any, fields: Sequence[FieldSpec], max_tiles: int,
                 document_tiles: int | None = None) -> None:
        self.processor = processor
        self.fields = list(fields)
        self.max_tiles = max_tiles
        self.document_tiles = document_tiles or max_tiles
        # One prompt per field list a label teaches (prompt.fields_for), made once each.
        self.prompts: dict[tuple[str, ...], str] = {}
        tok = processor.tokenizer
        self.end_ids = tok(tok.eos_token, add_special_tokens=False)["input_ids"]
        self.pad_id = tok.pad_token_id

    def __call__(self, examples: Sequence[Labelled]) -> dict[str, torch.Tensor]:
        return self.with_tiles(examples)[0]

    def _prompt(self, fields: Sequence[FieldSpec]) -> str:
        key = tuple(f.name for f in fields)
        if key not in self.prompts:
            self.prompts[key] = self.processor.apply_chat_template(
                prompt.messages(fields), add_generation_prompt=True)
        return self.prompts[key]

    def with_tiles(self, examples: Sequence[Labelled]
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The batch, and how many image tiles (rows of pixel_values) each example has."""
        tok = self.processor.tokenizer
        ids, labels, pixels = [], [], []
        for ex in examples:
            document = ex.document()
            image = stack_images([page.image for page in document.pages])
            budget = tile_budget(len(document.pages), self.max_tiles, self.document_tiles)
            fields = prompt.fields_for(ex.label, self.fields)
            enc = self.processor(images=[image], text=[self._prompt(fields)],
                                 return_tensors="pt", images_kwargs={"max_patches": budget})
            prompt_ids = enc["input_ids"][0].tolist()
            # Tokenized apart from the prompt, so no BPE merge crosses the boundary and the
            # mask below is exact.
            answer_ids = tok(prompt.answer(ex.label, fields),
                             add_special_tokens=False)["input_ids"] + self.end_ids
            ids.append(prompt_ids + answer_ids)
            labels.append([IGNORE] * len(prompt_ids) + answer_ids)
            pixels.append(enc["pixel_values"])
        width = max(len(x) for x in ids)
        batch_ids = torch.full((len(ids), width), self.pad_id, dtype=torch.long)
        batch_labels = torch.full((len(ids), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, (x, y) in enumerate(zip(ids, labels, strict=True)):
            batch_ids[i, : len(x)] = torch.tensor(x)
            batch_labels[i, : len(y)] = torch.tensor(y)
            mask[i, : len(x)] = 1
        batch = {"input_ids": batch_ids, "attention_mask": mask, "labels": batch_labels,
                 "pixel_values": torch.cat(pixels)}
        return batch, torch.tensor([len(px) for px in pixels])


class _Indexed(torch.utils.data.Dataset):  # type: ignore[type-arg]
    def __init__(self, examples: Sequence[Labelled]) -> None:
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> tuple[int, Labelled]:
        return i, self.examples[i]


class _CollateIndexed:
    """DataLoader collate: the batch plus each example's index and tile count (feature cache)."""

    def __init__(self, collate: Collator) -> None:
        self.collate = collate

    def __call__(self, items: Sequence[tuple[int, Labelled]]
                 ) -> tuple[dict[str, torch.Tensor], list[int], list[int]]:
        batch, tiles = self.collate.with_tiles([ex for _, ex in items])
        return batch, [i for i, _ in items], tiles.tolist()


def schedule(n: int, params: TrainParams) -> list[list[list[int]]]:
    """Example indices per optimizer step, per micro-batch: a seeded permutation per epoch."""
    steps_per_epoch = math.ceil(n / (params.batch_size * params.grad_accum))
    total = max(1, math.ceil(steps_per_epoch * params.epochs))
    order = torch.Generator().manual_seed(params.seed)
    steps: list[list[list[int]]] = []
    while len(steps) < total:
        perm = torch.randperm(n, generator=order).tolist()
        chunks = [perm[i:i + params.batch_size] for i in range(0, n, params.batch_size)]
        for k in range(0, len(chunks), params.grad_accum):
            if len(steps) < total:
                steps.append(chunks[k:k + params.grad_accum])
    return steps


def _batches(examples: Sequence[Labelled], collate: Collator, steps: list[list[list[int]]],
             params: TrainParams, device: str
             ) -> Iterator[tuple[dict[str, torch.Tensor], list[int], list[int]]]:
    """The micro-batches in schedule order; with workers, prepared ahead of the model."""
    workers = params.num_workers
    if workers < 0:
        workers = min(4, os.cpu_count() or 1) if device.startswith("cuda") else 0
    if workers == 0:
        wrap = _CollateIndexed(collate)
        for step in steps:
            for chunk in step:
                yield wrap([(i, examples[i]) for i in chunk])
        return
    loader = torch.utils.data.DataLoader(
        _Indexed(examples), batch_sampler=[c for step in steps for c in step],
        collate_fn=_CollateIndexed(collate), num_workers=workers,
        pin_memory=device.startswith("cuda"),
        # Its own generator: drawing the workers' base seed from the global one would shift
        # the LoRA dropout masks against a run without workers.
        generator=torch.Generator().manual_seed(params.seed),
    )
    yield from loader


class FeatureCache:
    """Projected image features per example, computed once: the vision tower and projector are
    frozen and the images are not augmented, so every epoch would compute the same values."""

    def __init__(self, device: str, budget_gb: float) -> None:
        self.device = device
        self.budget = int(budget_gb * 2**30)
        self.used = 0
        self.items: dict[int, torch.Tensor] = {}

    def __contains__(self, index: int) -> bool:
        return index in self.items

    def get(self, index: int) -> torch.Tensor:
        return self.items[index].to(self.device, non_blocking=True)

    def put(self, index: int, features: torch.Tensor) -> None:
        size = features.numel() * features.element_size()
        if self.used + size <= self.budget:
            self.items[index] = features.detach().clone()
            self.used += size
        else:
            spill = features.detach().to("cpu")
            self.items[index] = spill.pin_memory() if self.device.startswith("cuda") else spill


def _vision_is_deterministic(model: Any) -> bool:
    inner = model.get_base_model().model
    return not any(isinstance(m, torch.nn.Dropout) and m.p > 0
                   for part in (inner.vision_tower, inner.multi_modal_projector)
                   for m in part.modules())


def image_features(model: Any, pixel_values: torch.Tensor, index: Sequence[int] | None = None,
                   tiles: Sequence[int] | None = None, cache: FeatureCache | None = None
                   ) -> torch.Tensor:
    """Projected image features, one row per tile, [tiles, tokens per tile, hidden].

    Under no_grad: the vision tower and projector are frozen and carry no LoRA, so nothing
    needs their activations (and no hook can make autograd keep them)."""
    inner = model.get_base_model().model

    def compute(px: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return inner.get_image_features(pixel_values=px, return_dict=True).pooler_output

    if cache is None or index is None or tiles is None:
        return compute(pixel_values)
    per_example = pixel_values.split(list(tiles))
    missing = [k for k, i in enumerate(index) if i not in cache]
    if missing:
        fresh = compute(torch.cat([per_example[k] for k in missing]))
        for k, part in zip(missing, fresh.split([tiles[k] for k in missing]), strict=True):
            cache.put(index[k], part)
    return torch.cat([cache.get(i) for i in index])


def batch_loss(model: Any, batch: dict[str, torch.Tensor], *, answer_only: bool = True,
               features: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy over the answer tokens of ``batch``, as ``model(**batch).loss``.

    ``answer_only``: the lm_head runs on the positions that predict a labelled token only
    (the same logits and loss, without the other ~94 % of the vocabulary matmul).
    ``features``: precomputed image features (see ``image_features``)."""
    if not answer_only and features is None:
        return model(**batch).loss  # the stock path, kept for side-by-side measurement
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    lm = model.get_base_model()  # InternVLForConditionalGeneration, LoRA layers injected
    if features is None:
        features = image_features(model, batch["pixel_values"])
    hidden = lm.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False,
        mm_encoder_outputs={"image": BaseModelOutputWithPooling(pooler_output=features)},
    ).last_hidden_state
    labels = batch["labels"]
    if not answer_only:
        return lm.loss_function(logits=lm.lm_head(hidden), labels=labels,
                                vocab_size=lm.config.text_config.vocab_size)
    # Position t predicts token t+1 (transformers' ForCausalLMLoss shifts the same way).
    targets = labels[:, 1:]
    keep = targets != IGNORE
    logits = lm.lm_head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def needs_checkpointing(params: TrainParams, device: str) -> bool:
    """Recompute activations in the backward pass only where they would not fit: measured
    ~4 GB a sample at 3 tiles without checkpointing, plus ~6 GB for the model and optimizer."""
    if not device.startswith("cuda"):
        return False
    total_gb = torch.cuda.get_device_properties(device).total_memory / 2**30
    return 6 + 4 * params.batch_size * max(1, params.max_tiles // 3) > 0.9 * total_gb


def prepare_model(model_path: str, params: TrainParams, device: str) -> tuple[Any, Any]:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    model = load_model(LoadSpec(path=model_path, precision=params.precision, device=device))
    if params.gradient_checkpointing is None:
        params = replace(params, gradient_checkpointing=needs_checkpointing(params, device))
    checkpointing = {"use_reentrant": False}
    if params.precision == "4bit" and params.fp32_upcast:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=params.gradient_checkpointing,
            gradient_checkpointing_kwargs=checkpointing,
        )
    else:
        # Frozen base in its loaded dtype. Non-reentrant checkpointing needs no input that
        # requires grad, so no enable_input_require_grads: in transformers 5 it hooks the vision
        # tower's embeddings too, which made autograd backpropagate through the frozen tower.
        model.requires_grad_(False)
        if params.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=checkpointing)
    config = LoraConfig(r=params.lora_r, lora_alpha=params.lora_alpha,
                        lora_dropout=params.lora_dropout, target_modules=LLM_TARGETS,
                        task_type="CAUSAL_LM")
    # peft creates the LoRA weights in fp32 (autocast_adapter_dtype), whatever the base dtype:
    # AdamW keeps fp32 master weights and the matmuls run in bf16 under autocast.
    model = get_peft_model(model, config)
    return model, load_processor(model_path)


def fit(model_path: str, examples: Sequence[Labelled], fields: Sequence[FieldSpec],
        params: TrainParams, out_dir: Path, *, device: str = "auto",
        progress: Progress | None = None, keep_model: bool = False) -> TrainResult:
    """Train a LoRA adapter on ``examples`` and save it (adapter files only) to ``out_dir``."""
    from transformers import get_linear_schedule_with_warmup

    if not examples:
        raise ValueError("no labelled receipts to train on")
    device = resolve_device(device)
    torch.manual_seed(params.seed)
    model, processor = prepare_model(model_path, params, device)
    model.train()
    collate = Collator(processor, fields, params.max_tiles, params.document_tiles)
    steps = schedule(len(examples), params)
    total = len(steps)
    trainable = [p for p in model.parameters() if p.requires_grad]
    cuda = device.startswith("cuda")
    optimizer = torch.optim.AdamW(trainable, lr=params.learning_rate, weight_decay=0.0,
                                  fused=True if cuda and params.fused_adamw else None)
    schedule_lr = get_linear_schedule_with_warmup(optimizer, int(total * params.warmup_ratio),
                                                  total)
    cache = None
    if params.cache_image_features and _vision_is_deterministic(model):
        cache = FeatureCache(device, params.feature_cache_gb)
    use_autocast = cuda
    if use_autocast:
        torch.cuda.reset_peak_memory_stats()

    result = TrainResult()
    started = time.perf_counter()
    batches = _batches(examples, collate, steps, params, device)
    bar = tqdm(total=total, unit="step", desc="training")
    for step, chunks in enumerate(steps, start=1):
        loss_sum = 0.0
        for _ in chunks:
            cpu_batch, index, tiles = next(batches)
            batch = {n: t.to(device, non_blocking=True) for n, t in cpu_batch.items()}
            batch["pixel_values"] = batch["pixel_values"].to(
                torch.bfloat16 if use_autocast else torch.float32)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_autocast):
                features = None
                if cache is not None:
                    features = image_features(model, batch["pixel_values"], index, tiles, cache)
                loss = batch_loss(model, batch, answer_only=params.answer_only_loss,
                                  features=features) / params.grad_accum
            loss.backward()
            loss_sum += float(loss.detach())
            result.samples += len(index)
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule_lr.step()
        optimizer.zero_grad(set_to_none=True)
        result.losses.append(loss_sum)
        bar.update(1)
        bar.set_postfix(loss=f"{loss_sum:.4f}")
        if progress:
            progress(step, total, loss_sum)
    batches.close()  # stops the loader's workers now, not at garbage collection
    bar.close()
    if use_autocast:
        torch.cuda.synchronize()
        result.peak_memory_gb = torch.cuda.max_memory_allocated() / 2**30
    result.seconds = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    if keep_model:
        result.model = model.eval()
    return result
