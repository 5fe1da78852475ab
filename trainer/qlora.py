"""QLoRA fine-tuning of InternVL on labelled receipts: a lean loop of our own.

Why not trl's SFTTrainer: for a vision-language model it needs its own collator anyway, and
what matters here is exact control of two things — the prompt goes through the very processor
and chat template the engine serves with (``shared/engines/internvl/prompt.py``), and the loss
covers the answer tokens only (the image and prompt tokens are masked with -100, unlike the
recipe we started from). The loop is ~80 lines; trl would add a dataset/config layer around it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from shared.engines.internvl import prompt
from shared.engines.internvl.loading import LoadSpec, load_model, load_processor, resolve_device
from shared.fields import FieldSpec
from trainer.data import Labelled
from trainer.recipes import Progress

IGNORE = -100
# LoRA on the language model's linear layers only; the vision tower stays frozen.
LLM_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


@dataclass
class TrainParams:
    epochs: float = 3.0
    batch_size: int = 4
    grad_accum: int = 1
    learning_rate: float = 2e-4
    warmup_ratio: float = 0.03
    lora_r: int = 128
    lora_alpha: int = 256
    lora_dropout: float = 0.05
    max_tiles: int = 6
    precision: str = "4bit"  # 4bit (QLoRA) | bf16 (plain LoRA) | fp32 (CPU)
    gradient_checkpointing: bool = True
    seed: int = 0

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
    """Builds a training batch: per example, processor(prompt with image) + answer tokens."""

    def __init__(self, processor: Any, fields: Sequence[FieldSpec], max_tiles: int) -> None:
        self.processor = processor
        self.fields = list(fields)
        self.max_tiles = max_tiles
        self.prompt = processor.apply_chat_template(prompt.messages(self.fields),
                                                    add_generation_prompt=True)
        tok = processor.tokenizer
        self.end_ids = tok(tok.eos_token, add_special_tokens=False)["input_ids"]
        self.pad_id = tok.pad_token_id

    def __call__(self, examples: Sequence[Labelled]) -> dict[str, torch.Tensor]:
        tok = self.processor.tokenizer
        ids, labels, pixels = [], [], []
        for ex in examples:
            enc = self.processor(images=[ex.image()], text=[self.prompt], return_tensors="pt",
                                 images_kwargs={"max_patches": self.max_tiles})
            prompt_ids = enc["input_ids"][0].tolist()
            # Tokenized apart from the prompt, so no BPE merge crosses the boundary and the
            # mask below is exact.
            answer_ids = tok(prompt.answer(ex.label, self.fields),
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
        return {"input_ids": batch_ids, "attention_mask": mask, "labels": batch_labels,
                "pixel_values": torch.cat(pixels)}


def prepare_model(model_path: str, params: TrainParams, device: str) -> tuple[Any, Any]:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    model = load_model(LoadSpec(path=model_path, precision=params.precision, device=device))
    if params.precision == "4bit":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=params.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif params.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    config = LoraConfig(r=params.lora_r, lora_alpha=params.lora_alpha,
                        lora_dropout=params.lora_dropout, target_modules=LLM_TARGETS,
                        task_type="CAUSAL_LM")
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
    collate = Collator(processor, fields, params.max_tiles)
    steps_per_epoch = math.ceil(len(examples) / (params.batch_size * params.grad_accum))
    total = max(1, math.ceil(steps_per_epoch * params.epochs))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=params.learning_rate, weight_decay=0.0)
    schedule = get_linear_schedule_with_warmup(optimizer, int(total * params.warmup_ratio), total)
    use_autocast = device.startswith("cuda")
    if use_autocast:
        torch.cuda.reset_peak_memory_stats()

    order = torch.Generator().manual_seed(params.seed)
    result = TrainResult()
    started = time.perf_counter()
    step = 0
    bar = tqdm(total=total, unit="step", desc="training")
    while step < total:
        perm = torch.randperm(len(examples), generator=order).tolist()
        chunks = [perm[i:i + params.batch_size] for i in range(0, len(perm), params.batch_size)]
        for k in range(0, len(chunks), params.grad_accum):
            if step >= total:
                break
            loss_sum = 0.0
            for chunk in chunks[k:k + params.grad_accum]:
                batch = {n: t.to(device) for n, t in collate([examples[i] for i in chunk]).items()}
                batch["pixel_values"] = batch["pixel_values"].to(
                    torch.bfloat16 if use_autocast else torch.float32)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_autocast):
                    loss = model(**batch).loss / params.grad_accum
                loss.backward()
                loss_sum += float(loss.detach())
                result.samples += len(chunk)
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            result.losses.append(loss_sum)
            bar.update(1)
            bar.set_postfix(loss=f"{loss_sum:.4f}")
            if progress:
                progress(step, total, loss_sum)
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
