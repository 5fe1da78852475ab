"""InternVL engine: batched generation over receipt images, JSON answers, per-field confidence,
and LoRA adapters that can be switched while the worker runs.

A batch goes through the engine's three stages, which callers run on three threads
(``shared/pipeline.py``): ``prepare`` resizes and tiles the images (on the GPU when serving
there, on a stream of its own, so it does not queue behind the batch being decoded) and groups
them by tile count, so every group shares one prompt (its token ids are computed once per tile
count) and needs no padding; ``infer`` decodes each group greedily; ``interpret`` parses the
answers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from shared.config import Settings, get_settings
from shared.documents import as_document
from shared.documents.layout import stack_images
from shared.engines.base import Engine, ExtractionResult, FieldValue, Input, ItemRow
from shared.engines.internvl import fp8, memory, prompt
from shared.engines.internvl.adapters import AdapterSlot
from shared.engines.internvl.confidence import TopProbRecorder, span_confidence, token_char_ends
from shared.engines.internvl.decoding import GreedyDecoder, supports
from shared.engines.internvl.loading import (
    LoadSpec,
    compute_dtype,
    load_processor,
    resolve_device,
)
from shared.engines.internvl.parsing import parse_answer
from shared.engines.internvl.prompt import tile_budget
from shared.fields import FieldSpec

log = logging.getLogger(__name__)


@dataclass
class Group:
    """Receipts of one batch with the same tile count: one prompt, no padding."""

    rows: list[int]  # positions in the batch
    input_ids: torch.Tensor  # (rows, prompt length)
    pixel_values: torch.Tensor  # (tiles of all rows, 3, H, W), on the model's device


@dataclass
class Prepared:
    size: int
    groups: list[Group] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # row -> why it cannot be read
    # Recorded on the preparing stream after its last kernel; the decoding stream waits on it.
    ready: torch.cuda.Event | None = None


@dataclass
class Inferred:
    size: int
    errors: dict[int, str]
    answers: dict[int, tuple[list[int], list[float]]]  # row -> answer tokens, probabilities


class InternVLEngine(Engine):
    name = "internvl"
    supports_versions = True

    def __init__(self, fields: Sequence[FieldSpec], settings: Settings | None = None) -> None:
        super().__init__(fields)
        s = settings or get_settings()
        self.spec = LoadSpec(path=s.internvl_model, precision=s.internvl_precision,
                             device=resolve_device(s.internvl_device))
        self.max_tiles = s.internvl_max_tiles
        self.document_tiles = s.internvl_document_tiles
        self.batch_size = memory.batch_size(s)
        self.max_new_tokens = s.answer_tokens(self.fields)
        self.min_new_tokens = s.internvl_min_new_tokens
        self.decoder_kind = s.internvl_decoder
        self.fp8 = s.internvl_fp8
        self.fp8_vision = s.internvl_fp8_vision
        self.fp8_static = s.internvl_fp8_static
        self.compile = s.internvl_compile and self.spec.device.startswith("cuda")
        self.decode_attention = s.internvl_decode_attention
        if (self.fp8_vision or self.fp8_static) and not self.fp8:
            raise ValueError("RECEIPTFLOW_INTERNVL_FP8_VISION and _FP8_STATIC refine "
                             "RECEIPTFLOW_INTERNVL_FP8: set it too")
        if self.fp8 and (self.spec.precision != "bf16" or self.decoder_kind != "graph"):
            raise ValueError("RECEIPTFLOW_INTERNVL_FP8 needs precision bf16 and the graph decoder")
        if self.fp8 and not fp8.available(self.spec.device):
            raise ValueError("RECEIPTFLOW_INTERNVL_FP8 needs a CUDA GPU with FP8 tensor cores "
                             "(compute capability 8.9 or newer)")
        # For the generate decoder: a static KV cache (compiled on CUDA) is faster for fixed
        # shapes, but every new batch shape compiles again.
        self.generate_kwargs: dict[str, Any] = (
            {"cache_implementation": "static"} if s.internvl_static_cache else {}
        )
        if not s.internvl_cudnn_attention:
            torch.backends.cuda.enable_cudnn_sdp(False)  # process-wide: one engine per worker
        self.processor = load_processor(self.spec.path)
        self.adapters = AdapterSlot(self.spec, merge=s.internvl_merge_adapter)
        self._prompt = self.processor.apply_chat_template(
            prompt.messages(self.fields), add_generation_prompt=True
        )
        self._prompt_ids: dict[int, torch.Tensor] = {}  # tile count -> prompt token ids
        self._decoder: GreedyDecoder | None = None
        self._decoder_key: tuple[int, int | None] | None = None
        # Receipts seen by static FP8 layers while they calibrate; None when none calibrate.
        self._calibrated_on: int | None = None
        # Held while launching preprocessing kernels, so a CUDA graph capture never overlaps.
        self._gpu_lock = threading.Lock()
        self._convert_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="internvl-px")
        # Preprocessing on the default stream would wait for every kernel the decoding thread
        # has queued (a whole batch), and the decoding thread would then wait for it.
        self._prep_stream = (torch.cuda.Stream(self.spec.device)
                             if self.spec.device.startswith("cuda") else None)

    @property
    def model(self) -> Any:
        return self.adapters.model

    @property
    def model_name(self) -> str:
        suffix = ""
        if self.fp8:
            suffix = ("+fp8-vision" if self.fp8_vision else "+fp8") + (
                "-static" if self.fp8_static else "")
        return f"{Path(self.spec.path).name or self.spec.path}@{self.spec.precision}{suffix}"

    @property
    def model_version(self) -> int | None:
        return self.adapters.version_id

    def use_version(self, version_id: int | None, artifact_dir: Path | None) -> None:
        self.adapters.activate(version_id, artifact_dir)

    # ------------------------------------------------------------------ the three stages

    def extract(self, documents: Sequence[Input]) -> list[ExtractionResult]:
        return self.extract_pipelined([documents[i:i + self.batch_size]
                                       for i in range(0, len(documents), self.batch_size)])

    def prepare(self, documents: Sequence[Input]) -> Prepared:
        """Tiles and prompts for the readable documents, grouped by tile count; an unreadable
        one fails alone. A document of several pages is one image, its pages one under the
        other, with a larger tile budget (``RECEIPTFLOW_INTERNVL_DOCUMENT_TILES``)."""
        docs = [as_document(d) for d in documents]
        images = [stack_images([page.image for page in doc.pages]) for doc in docs]
        budgets = [tile_budget(len(doc.pages), self.max_tiles, self.document_tiles)
                   for doc in docs]
        prepared = Prepared(size=len(images))
        with self._gpu_lock, torch.cuda.stream(self._prep_stream):
            for budget in sorted(set(budgets)):
                self._prepare_rows(prepared, images, budget,
                                   [i for i, b in enumerate(budgets) if b == budget])
            if self._prep_stream is not None and prepared.groups:
                prepared.ready = torch.cuda.Event()
                prepared.ready.record(self._prep_stream)
        return prepared

    def _prepare_rows(self, prepared: Prepared, images: list[Image.Image], budget: int,
                      rows: list[int]) -> None:
        """Tile ``images[rows]`` at ``budget`` tiles, in groups of one tile count each."""
        try:
            tiles = self._tiles([images[i] for i in rows], budget)
            good = list(rows)
        except Exception:
            log.warning("batch preprocessing failed; isolating the bad images", exc_info=True)
            good = []
            for i in rows:
                try:
                    self._tiles([images[i]], budget)
                    good.append(i)
                except Exception as exc:
                    prepared.errors[i] = ("the model's image processor cannot read this "
                                          f"image: {exc}")
            tiles = self._tiles([images[i] for i in good], budget) if good else None
        if tiles is None:
            return
        pixel_values, counts = tiles
        per_receipt = pixel_values.split(counts)
        by_count: dict[int, list[int]] = {}
        for k, n in enumerate(counts):
            by_count.setdefault(n, []).append(k)
        for n, members in by_count.items():
            ids = self._prompt_for(n, images[good[members[0]]], budget)
            pixels = torch.cat([per_receipt[k] for k in members])
            prepared.groups.append(Group(
                rows=[good[k] for k in members],
                input_ids=ids.to(pixels.device).repeat(len(members), 1),
                pixel_values=pixels,
            ))

    @torch.inference_mode()
    def infer(self, prepared: Prepared) -> Inferred:
        if prepared.ready is not None:
            stream = torch.cuda.current_stream(self.spec.device)
            stream.wait_event(prepared.ready)
            for group in prepared.groups:  # made on the preparing stream, read on this one
                group.pixel_values.record_stream(stream)
                group.input_ids.record_stream(stream)
        answers: dict[int, tuple[list[int], list[float]]] = {}
        for group in prepared.groups:
            per_row = group.pixel_values.shape[0] // len(group.rows)
            # Receipts with more tiles than one page's budget (several pages) go in smaller
            # batches, so a batch never needs more memory than the batch size was fitted to.
            step = max(1, min(self.batch_size, self.batch_size * (self.max_tiles + 1) // per_row))
            for start in range(0, len(group.rows), step):
                rows = group.rows[start:start + step]
                ids = group.input_ids[start:start + len(rows)]
                pixels = group.pixel_values[start * per_row:(start + len(rows)) * per_row]
                tokens, probs = self._decode(ids, pixels)
                answers.update(zip(rows, zip(tokens, probs, strict=True), strict=True))
        return Inferred(prepared.size, prepared.errors, answers)

    def interpret(self, inferred: Inferred) -> list[ExtractionResult]:
        return [self._result(*inferred.answers[i]) if i in inferred.answers
                else ExtractionResult(fields=self._empty(), error=inferred.errors.get(i))
                for i in range(inferred.size)]

    # ------------------------------------------------------------------ preprocessing

    def _tiles(self, images: list[Image.Image], budget: int) -> tuple[torch.Tensor, list[int]]:
        kwargs: dict[str, Any] = {"max_patches": budget, "return_tensors": "pt"}
        if self.spec.device.startswith("cuda"):
            # Resize, tile and normalize on the GPU: on the CPU this costs ~25 ms a receipt.
            kwargs["device"] = self.spec.device
            # The processor's own PIL-to-tensor step cost ~4.5 ms a receipt of GIL-holding CPU
            # time on the GPU machine; copying the pixels out in threads and tiling uint8
            # tensors on the GPU gives the same pixel values (checked in the tests).
            images = list(self._convert_pool.map(self._to_device, images))
        out = self.processor.image_processor(images=images, **kwargs)
        counts = out["num_patches"]
        counts = counts.tolist() if hasattr(counts, "tolist") else list(counts)
        # The model's dtype, without touching the model: prepare runs in another thread and
        # may overlap an adapter switch.
        pixels = out["pixel_values"].to(self.spec.device,
                                        compute_dtype(self.spec.precision, self.spec.device))
        return pixels, [int(n) for n in counts]

    def _to_device(self, image: Image.Image) -> torch.Tensor:
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        pixels = torch.from_numpy(np.asarray(rgb))
        with torch.cuda.stream(self._prep_stream):  # this pool thread's current stream
            return pixels.permute(2, 0, 1).to(self.spec.device, non_blocking=False)

    def _prompt_for(self, tiles: int, image: Image.Image, budget: int) -> torch.Tensor:
        """The prompt's token ids for this tile count, from the processor itself (once)."""
        if tiles not in self._prompt_ids:
            enc = self.processor(images=[image], text=[self._prompt], return_tensors="pt",
                                 images_kwargs={"max_patches": budget})
            self._prompt_ids[tiles] = enc["input_ids"][0]
        return self._prompt_ids[tiles]

    # ------------------------------------------------------------------ decoding

    def _decode(self, input_ids: torch.Tensor,
                pixel_values: torch.Tensor) -> tuple[list[list[int]], list[list[float]]]:
        """Greedy answer tokens and their probabilities, cut at the end of the answer."""
        mask = torch.ones_like(input_ids)
        if self.decoder_kind == "graph" and supports(self.model):
            out = self._greedy().generate(input_ids, mask, pixel_values, self.max_new_tokens,
                                          self.min_new_tokens)
            generated, probs = out.tokens.tolist(), out.probs.tolist()
            if self._calibrated_on is not None:
                self._calibrate(len(generated))
        else:
            recorder = TopProbRecorder()
            kwargs = dict(self.generate_kwargs)
            if self.min_new_tokens:
                kwargs["min_new_tokens"] = self.min_new_tokens
            out = self.model.generate(
                input_ids=input_ids, attention_mask=mask, pixel_values=pixel_values,
                max_new_tokens=self.max_new_tokens, do_sample=False,
                logits_processor=[recorder], **kwargs,
            )
            generated = out[:, input_ids.shape[1]:].tolist()
            probs = recorder.probabilities().tolist()
        ends = self._end_ids()
        cut = [next((k for k, t in enumerate(ids) if t in ends), len(ids)) for ids in generated]
        return ([ids[:n] for ids, n in zip(generated, cut, strict=True)],
                [p[:n] for p, n in zip(probs, cut, strict=True)])

    def _greedy(self) -> GreedyDecoder:
        """The decoder for the model now served (rebuilt after an adapter switch)."""
        model = self.model
        key = (id(model), self.adapters.version_id)
        if self._decoder is None or self._decoder_key != key:
            base = model.get_base_model() if hasattr(model, "get_base_model") else model
            if self.fp8 and not getattr(base, "_receiptflow_fp8", False):
                swapped = fp8.convert(base, vision=self.fp8_vision, static=self.fp8_static)
                base._receiptflow_fp8 = True
                self._calibrated_on = 0 if self.fp8_static else None
                log.info("serving with FP8 matrix products in %d linear layers", swapped)
            self._decoder = None  # free the old KV caches before allocating new ones
            # End and minimum length follow the generation config, as generate() does.
            eos = base.generation_config.eos_token_id
            eos_ids = [eos] if isinstance(eos, int) else list(eos or self._end_ids())
            self._decoder = GreedyDecoder(
                base, eos_ids, gpu_lock=self._gpu_lock,
                # bitsandbytes' 4-bit kernels are not known to be graph-safe: run eagerly.
                use_graphs=self.spec.device.startswith("cuda") and self.spec.precision != "4bit",
                compile=self.compile, attention=self.decode_attention,
            )
            self._decoder_key = key
        return self._decoder

    def _calibrate(self, receipts: int) -> None:
        """Static FP8: batches run in bf16 while the layers record their largest inputs, until
        enough receipts were seen; then the scales are fixed (once: no walk over the model's
        modules on later batches)."""
        assert self._calibrated_on is not None
        self._calibrated_on += receipts
        if self._calibrated_on >= fp8.CALIBRATION_RECEIPTS:
            fp8.end_calibration(self.model)
            log.info("FP8 activation scales calibrated on %d receipts", self._calibrated_on)
            self._calibrated_on = None

    def _end_ids(self) -> set[int]:
        tok = self.processor.tokenizer
        return {t for t in (tok.eos_token_id, tok.pad_token_id) if t is not None}

    # ------------------------------------------------------------------ answers

    def _result(self, token_ids: list[int], probs: list[float]) -> ExtractionResult:
        tokenizer = self.processor.tokenizer
        answer = tokenizer.decode(token_ids, skip_special_tokens=True)
        names = [f.name for f in self.fields]
        tables = {f.name: [c.name for c in f.columns or []] for f in self.fields if f.is_table}
        parsed = parse_answer(answer, names, tables)
        ends = token_char_ends(tokenizer, token_ids)

        def confidence(span: tuple[int, int] | None) -> float:
            return span_confidence(span, ends, probs) if span else 0.0

        fields = {}
        for name in names:
            # A table's confidence spans its whole list: the token that closes it says "no
            # more items", as doubtful as any digit.
            value = FieldValue(value=parsed.values.get(name, ""),
                               confidence=confidence(parsed.spans.get(name)))
            if name in tables:
                value = replace(value, rows=tuple(
                    ItemRow({col: FieldValue(cell.value, confidence(cell.span) if cell.span
                                             else value.confidence)
                             for col, cell in row.items()})
                    for row in parsed.rows.get(name, [])))
            fields[name] = value
        error = f"unparseable answer: {parsed.error}" if parsed.error else None
        return ExtractionResult(fields=fields, raw_output=answer, error=error)

    def _empty(self) -> dict[str, FieldValue]:
        return {f.name: FieldValue(rows=() if f.is_table else None) for f in self.fields}
