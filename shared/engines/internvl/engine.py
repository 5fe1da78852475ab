"""InternVL engine: batched generation over receipt images, JSON answers, per-field confidence,
and LoRA adapters that can be switched while the worker runs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from shared.config import Settings, get_settings
from shared.engines.base import Engine, ExtractionResult, FieldValue
from shared.engines.internvl import prompt
from shared.engines.internvl.adapters import AdapterSlot
from shared.engines.internvl.confidence import TopProbRecorder, span_confidence, token_char_ends
from shared.engines.internvl.loading import LoadSpec, load_processor, resolve_device
from shared.engines.internvl.parsing import parse_answer
from shared.fields import FieldSpec

log = logging.getLogger(__name__)


class InternVLEngine(Engine):
    name = "internvl"
    supports_versions = True

    def __init__(self, fields: Sequence[FieldSpec], settings: Settings | None = None) -> None:
        super().__init__(fields)
        s = settings or get_settings()
        self.spec = LoadSpec(path=s.internvl_model, precision=s.internvl_precision,
                             device=resolve_device(s.internvl_device))
        self.max_tiles = s.internvl_max_tiles
        self.batch_size = s.internvl_batch_size
        self.max_new_tokens = s.internvl_max_new_tokens
        # A static KV cache (compiled on CUDA) is much faster for fixed shapes, but every new
        # batch shape compiles again; serving full batches of similar receipts benefits.
        self.generate_kwargs: dict[str, Any] = (
            {"cache_implementation": "static"} if s.internvl_static_cache else {}
        )
        self.processor = load_processor(self.spec.path)
        self.adapters = AdapterSlot(self.spec, merge=s.internvl_merge_adapter)
        self._prompt = self.processor.apply_chat_template(
            prompt.messages(self.fields), add_generation_prompt=True
        )

    @property
    def model(self) -> Any:
        return self.adapters.model

    @property
    def model_name(self) -> str:
        return f"{Path(self.spec.path).name or self.spec.path}@{self.spec.precision}"

    @property
    def model_version(self) -> int | None:
        return self.adapters.version_id

    def use_version(self, version_id: int | None, artifact_dir: Path | None) -> None:
        self.adapters.activate(version_id, artifact_dir)

    def extract(self, images: Sequence[Image.Image]) -> list[ExtractionResult]:
        chunks = [list(images[i:i + self.batch_size])
                  for i in range(0, len(images), self.batch_size)]
        results: list[ExtractionResult] = []
        # The processor (resize, tile, normalize) runs on the CPU; preparing the next chunk in
        # a thread while the GPU generates the current one keeps the GPU busy.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self._preprocess, chunks[0]) if chunks else None
            for k, chunk in enumerate(chunks):
                assert pending is not None
                prepared = pending.result()
                if k + 1 < len(chunks):
                    pending = pool.submit(self._preprocess, chunks[k + 1])
                results.extend(self._generate(chunk, *prepared))
        return results

    def _preprocess(self, images: list[Image.Image]) -> tuple[Any, list[int], dict[int, str]]:
        """Processor inputs for the readable images; an unreadable one fails alone."""
        try:
            return self._inputs(images), list(range(len(images))), {}
        except Exception:
            log.warning("batch preprocessing failed; isolating the bad images", exc_info=True)
        good, errors = [], {}
        for i, image in enumerate(images):
            try:
                self._inputs([image])
                good.append(i)
            except Exception as exc:
                errors[i] = f"the model's image processor cannot read this image: {exc}"
        inputs = self._inputs([images[i] for i in good]) if good else None
        return inputs, good, errors

    def _inputs(self, images: list[Image.Image]) -> Any:
        image_kwargs: dict[str, Any] = {"max_patches": self.max_tiles}
        if self.spec.device.startswith("cuda"):
            # Resize, tile and normalize on the GPU: on the CPU this costs ~25 ms a receipt
            # and, holding the GIL, cannot overlap with generation.
            image_kwargs["device"] = self.spec.device
        return self.processor(
            images=images, text=[self._prompt] * len(images), return_tensors="pt",
            padding=True, images_kwargs=image_kwargs,
        )

    @torch.inference_mode()
    def _generate(self, images: list[Image.Image], inputs: Any, good: list[int],
                  errors: dict[int, str]) -> list[ExtractionResult]:
        results: list[ExtractionResult] = [
            ExtractionResult(fields=self._empty(), error=errors.get(i)) for i in range(len(images))
        ]
        if inputs is None:
            return results
        model = self.model
        inputs = inputs.to(model.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
        recorder = TopProbRecorder()
        out = model.generate(
            **inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
            logits_processor=[recorder], **self.generate_kwargs,
        )
        generated = out[:, inputs["input_ids"].shape[1]:].tolist()
        probs = recorder.probabilities().tolist()
        eos = self.processor.tokenizer.eos_token_id
        pad = self.processor.tokenizer.pad_token_id
        for row, index in enumerate(good):
            ids = generated[row]
            n = next((k for k, t in enumerate(ids) if t in (eos, pad)), len(ids))
            results[index] = self._result(ids[:n], probs[row][:n])
        return results

    def _result(self, token_ids: list[int], probs: list[float]) -> ExtractionResult:
        tokenizer = self.processor.tokenizer
        answer = tokenizer.decode(token_ids, skip_special_tokens=True)
        names = [f.name for f in self.fields]
        parsed = parse_answer(answer, names)
        ends = token_char_ends(tokenizer, token_ids)
        fields = {}
        for name in names:
            span = parsed.spans.get(name)
            confidence = span_confidence(span, ends, probs) if span else 0.0
            fields[name] = FieldValue(value=parsed.values.get(name, ""), confidence=confidence)
        error = f"unparseable answer: {parsed.error}" if parsed.error else None
        return ExtractionResult(fields=fields, raw_output=answer, error=error)

    def _empty(self) -> dict[str, FieldValue]:
        return {f.name: FieldValue() for f in self.fields}
