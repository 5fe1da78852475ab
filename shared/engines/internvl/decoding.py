"""Greedy decoding for serving: one batched prefill, then decode steps replayed from a CUDA graph.

Why not ``model.generate``: at batch 128 its per-step Python work (logits processors, stopping
criteria, cache bookkeeping, mask building) took ~26 ms a step on an H100, while the GPU work of
a step is a few ms. Here a decode step reads and writes only preallocated tensors, so on CUDA it
is captured once per batch shape and replayed: one launch per step instead of ~600.

The math is the model's own modules (embedding, norms, projections, rotary embedding, MLPs)
called in the order transformers' Qwen2 code calls them; only attention over the KV cache is
ours, so the cache can live in fixed buffers that a graph can replay. Prompts of one batch
should have the same length (the engine groups receipts by tile count); padded rows still work
(left padding, masked).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

log = logging.getLogger(__name__)

# Text models whose decoder layers have the Qwen2 layout this file follows (InternVL 2.5/3).
SUPPORTED_TEXT_MODELS = ("qwen2",)
# Decode attention over the KV cache (see GreedyDecoder):
ATTENTIONS = ("masked", "exact", "flash")
# For "flash": flash attention's kernel (it can split a long cache across thread blocks when
# there are few query rows) instead of cuDNN's, PyTorch's choice on an H100. Done by leaving
# cuDNN out of the enabled kernels, not by setting a priority order: on the H100 (torch 2.11)
# setting one, even inside ``sdpa_kernel(..., set_priority=True)`` that restores the order on
# exit, stopped PyTorch preferring cuDNN everywhere else, and the vision tower's and the
# prefill's attention then ran flash attention's kernel at 1.4x and 2.1x the time
# (benchmarks/results/h100-serve-breakdown-flash.txt).
_FLASH_FIRST = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]


def supports(model: Any) -> bool:
    text = getattr(getattr(model, "config", None), "text_config", None)
    return getattr(text, "model_type", None) in SUPPORTED_TEXT_MODELS


@dataclass
class Generated:
    tokens: torch.Tensor  # (batch, steps) chosen token ids, on the CPU
    probs: torch.Tensor  # (batch, steps) their softmax probabilities, on the CPU


class _Slots:
    """Decode-step state for one (batch, length) shape; a graph reads only these. The KV cache
    is a view of the decoder's one shared buffer (one batch decodes at a time), so shapes
    for other tile counts and batch sizes cost no extra cache memory."""

    def __init__(self, decoder: GreedyDecoder, batch: int, length: int, steps: int) -> None:
        device = decoder.device
        self.keys = [k[:batch, :, :length] for k in decoder._cache_keys]
        self.values = [v[:batch, :, :length] for v in decoder._cache_values]
        self.valid = torch.zeros(batch, length, dtype=torch.bool, device=device)
        self.token = torch.zeros(batch, dtype=torch.long, device=device)
        self.position = torch.zeros(batch, dtype=torch.long, device=device)
        self.slot = torch.zeros(1, dtype=torch.long, device=device)  # cache column being written
        self.step = torch.zeros(1, dtype=torch.long, device=device)  # index of the token made
        self.tokens = torch.zeros(batch, steps, dtype=torch.long, device=device)
        self.probs = torch.zeros(batch, steps, dtype=torch.float32, device=device)
        self.graph: torch.cuda.CUDAGraph | None = None  # masked attention: one for all steps
        self.step_graphs: list[torch.cuda.CUDAGraph] = []  # exact or flash: one per step


class _LayerIn(nn.Module):
    """First half of a decoder layer up to attention: norm, q/k/v projections, rotary
    embedding. A module, so ``torch.compile`` can fuse its elementwise work once for all
    layers (they share the compiled code)."""

    def __init__(self, layer: Any, head_dim: int) -> None:
        super().__init__()
        attn = layer.self_attn
        self.norm, self.q, self.k, self.v = layer.input_layernorm, attn.q_proj, attn.k_proj, \
            attn.v_proj
        self.head_dim = head_dim

    def forward(self, hidden: torch.Tensor, cos: torch.Tensor,
                sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        from transformers.models.qwen2.modeling_qwen2 import apply_rotary_pos_emb

        batch, length, _ = hidden.shape
        shape = (batch, length, -1, self.head_dim)
        h = self.norm(hidden)
        q = self.q(h).view(shape).transpose(1, 2)
        k = self.k(h).view(shape).transpose(1, 2)
        v = self.v(h).view(shape).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        return q, k, v


class _LayerOut(nn.Module):
    """Second half: output projection, residual, norm, MLP, residual."""

    def __init__(self, layer: Any) -> None:
        super().__init__()
        self.o, self.norm, self.mlp = layer.self_attn.o_proj, layer.post_attention_layernorm, \
            layer.mlp

    def forward(self, residual: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
        hidden = residual + self.o(attended)
        return hidden + self.mlp(self.norm(hidden))


class GreedyDecoder:
    """Greedy generation for an InternVL model whose language model is Qwen2-shaped."""

    def __init__(self, model: Any, eos_ids: Sequence[int], *, use_graphs: bool | None = None,
                 compile: bool = False, attention: str = "flash",
                 gpu_lock: threading.Lock | None = None) -> None:
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, not {attention!r}")
        if not supports(model):
            raise ValueError("GreedyDecoder supports InternVL models with a Qwen2 language model")
        self.model = model
        core = model.model
        self.core = core
        self.lm = core.language_model
        self.lm_head = model.lm_head
        self.layers = list(self.lm.layers)
        attn = self.layers[0].self_attn
        self.head_dim = attn.head_dim
        self._ins = [_LayerIn(layer, self.head_dim) for layer in self.layers]
        self._outs = [_LayerOut(layer) for layer in self.layers]
        if compile:
            # Fuses the memory-bound elementwise kernels (norms, rotary, activations, residuals)
            # that eager mode runs one by one; measured ~12% of a batch's GPU time on an H100.
            # Where compiling fails (no Triton, an unsupported op), run those modules eagerly
            # rather than failing every batch: slower, still correct.
            torch._dynamo.config.suppress_errors = True
            for module in [*self._ins, *self._outs, *core.vision_tower.encoder.layer]:
                module.compile()
        self.scaling = attn.scaling
        self.n_kv = model.config.text_config.num_key_value_heads
        self.n_heads = model.config.text_config.num_attention_heads
        self.device = next(model.parameters()).device
        self.dtype = self.lm.embed_tokens.weight.dtype
        self.image_token_id = model.config.image_token_id
        self.eos_ids = sorted(set(eos_ids))
        self.use_graphs = self.device.type == "cuda" if use_graphs is None else use_graphs
        # masked: one graph for all steps, attending over the whole cache with a mask.
        # exact: each decode step attends over the filled part of the cache only, with the
        # call transformers makes (no mask, grouped KV heads), so a step's length is fixed at
        # capture: one graph per step. flash: as exact, with flash attention's kernel.
        self.attention = attention
        # Captures must not race with another thread's kernel launches (image preprocessing).
        self.gpu_lock = gpu_lock or threading.Lock()
        self._slots: dict[tuple[int, int, int], _Slots] = {}
        self._cache_keys: list[torch.Tensor] = []  # per layer (batch, kv heads, length, dim)
        self._cache_values: list[torch.Tensor] = []
        self.graph_error: str | None = None
        vocab = self.lm_head.weight.shape[0]
        self._eos_mask = torch.zeros(vocab, dtype=torch.bool, device=self.device)
        self._eos_mask[[i for i in self.eos_ids if i < vocab]] = True
        # Read by captured graphs: updated in place, never replaced.
        self._min_new = torch.zeros((), dtype=torch.long, device=self.device)

    # ------------------------------------------------------------------ public

    @torch.inference_mode()
    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 pixel_values: torch.Tensor, max_new_tokens: int,
                 min_new_tokens: int = 0) -> Generated:
        batch, prompt = input_ids.shape
        slots = self._slots_for(batch, prompt + max_new_tokens, max_new_tokens)
        # Padded rows need the mask; the exact path has none.
        exact = self.attention != "masked" and bool(attention_mask.all())
        if self.use_graphs:
            # Before the prefill: capturing runs a warm-up step that writes into the state
            # buffers, which the prefill and the lines after it then reset.
            self._capture(slots, exact)
        self._min_new.fill_(min_new_tokens)
        logits = self._prefill(slots, input_ids, attention_mask, pixel_values)
        self._choose(slots, logits, first=True)
        # State for the first decode step: the token just chosen goes into cache column `prompt`.
        slots.valid[:, :prompt] = attention_mask.bool()
        slots.valid[:, prompt:] = False
        slots.position.copy_(attention_mask.sum(-1))
        slots.slot.fill_(prompt)
        slots.step.fill_(1)
        for step in range(1, max_new_tokens):
            length = prompt + step if exact else None
            if exact and slots.step_graphs:
                slots.step_graphs[step - 1].replay()
            elif not exact and slots.graph is not None:
                slots.graph.replay()
            else:
                self._decode_step(slots, length)
            # Stop once every row has ended; checked every 8 steps to avoid a sync per step.
            if step % 8 == 0 and min_new_tokens <= step and self._all_ended(slots, step + 1):
                return self._result(slots, step + 1)
        return self._result(slots, max_new_tokens)

    # ------------------------------------------------------------------ prefill

    def _prefill(self, slots: _Slots, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 pixel_values: torch.Tensor) -> torch.Tensor:
        config = self.model.config
        embeds = self.lm.embed_tokens(input_ids)
        features = self.core.get_image_features(
            pixel_values=pixel_values.to(self.dtype),
            vision_feature_layer=config.vision_feature_layer,
            vision_feature_select_strategy=config.vision_feature_select_strategy,
            return_dict=True,
        ).pooler_output
        image_positions = (input_ids == self.image_token_id).unsqueeze(-1)
        embeds = embeds.masked_scatter(image_positions, features.to(embeds.dtype))
        # Left padding: positions count real tokens only, as generate() computes them.
        positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        cos, sin = self.lm.rotary_emb(embeds, positions)
        prompt = input_ids.shape[1]
        mask = None
        if not bool(attention_mask.all()):
            causal = torch.ones(prompt, prompt, dtype=torch.bool, device=self.device).tril()
            mask = causal[None, None] & attention_mask.bool()[:, None, None, :]

        def attend(i: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            slots.keys[i][:, :, :prompt].copy_(k)
            slots.values[i][:, :, :prompt].copy_(v)
            if mask is None:  # no padding: the causal flash kernel, which shares KV heads itself
                return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scaling,
                                                      enable_gqa=True)
            groups = self.n_heads // self.n_kv
            return F.scaled_dot_product_attention(
                q, k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1),
                attn_mask=mask, scale=self.scaling)

        hidden = embeds
        for i in range(len(self.layers)):
            hidden = self._layer(i, hidden, cos, sin, attend)
        # Only the last position's logits are needed. The norm still runs over every position,
        # as in transformers: a row's reduction can round differently in a smaller tensor.
        return self.lm_head(self.lm.norm(hidden)[:, -1:])[:, 0]

    # ------------------------------------------------------------------ decode

    def _decode_step(self, slots: _Slots, length: int | None = None) -> None:
        """One token for every row. ``length``: attend over that many cache columns exactly
        (no padding); None: over the whole cache, masked."""
        hidden = self.lm.embed_tokens(slots.token[:, None])
        cos, sin = self.lm.rotary_emb(hidden, slots.position[:, None])
        slots.valid.index_fill_(1, slots.slot, True)
        mask = slots.valid[:, None, None, :]
        batch = hidden.shape[0]
        groups = self.n_heads // self.n_kv

        def attend(i: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            keys, values = slots.keys[i], slots.values[i]
            keys.index_copy_(2, slot, k)
            values.index_copy_(2, slot, v)
            if length is not None:
                flash = self.attention == "flash"
                with sdpa_kernel(_FLASH_FIRST) if flash else nullcontext():
                    return F.scaled_dot_product_attention(
                        q, keys[:, :, :length], values[:, :, :length], scale=self.scaling,
                        enable_gqa=True)
            # Grouped-query attention without copying the cache: the query heads that share a
            # KV head become that head's query rows (HF's repeat_kv pairs them the same way).
            q = q.reshape(batch, self.n_kv, groups, self.head_dim)
            out = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask,
                                                 scale=self.scaling)
            return out.reshape(batch, self.n_heads, 1, self.head_dim)

        slot = slots.slot
        for i in range(len(self.layers)):
            hidden = self._layer(i, hidden, cos, sin, attend)
        logits = self.lm_head(self.lm.norm(hidden))[:, 0]
        self._choose(slots, logits, first=False)
        slots.position.add_(1)
        slots.slot.add_(1)
        slots.step.add_(1)

    def _choose(self, slots: _Slots, logits: torch.Tensor, *, first: bool) -> None:
        """Greedy choice and its probability, written at column ``step`` of the outputs."""
        scores = logits.float()
        # min_new_tokens, as generate's processor does: no end-of-sequence before the minimum.
        step = torch.zeros_like(slots.step) if first else slots.step
        scores = scores.masked_fill(self._eos_mask & (step < self._min_new), float("-inf"))
        best = scores.argmax(-1)
        prob = (scores.gather(-1, best[:, None])[:, 0] - scores.logsumexp(-1)).exp()
        slots.tokens.index_copy_(1, step, best[:, None])
        slots.probs.index_copy_(1, step, prob[:, None])
        slots.token.copy_(best)

    def _layer(self, i: int, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
               attend: Any) -> torch.Tensor:
        q, k, v = self._ins[i](hidden, cos, sin)
        batch, length, _ = hidden.shape
        attended = attend(i, q, k, v).transpose(1, 2).reshape(batch, length, -1)
        return self._outs[i](hidden, attended)

    # ------------------------------------------------------------------ buffers and graphs

    def _slots_for(self, batch: int, length: int, steps: int) -> _Slots:
        cached = self._cache_keys[0].shape if self._cache_keys else (0, 0, 0, 0)
        if batch > cached[0] or length > cached[2]:
            # Grow the shared cache (never shrink it) and drop the states and graphs that
            # point into the old one.
            self._slots.clear()
            self._cache_keys, self._cache_values = [], []
            shape = (max(batch, cached[0]), self.n_kv, max(length, cached[2]), self.head_dim)
            # Zeros, not empty: masked columns still enter the products (as 0 x value), and
            # uninitialised memory can hold NaN or inf, which a mask does not cancel.
            for _ in self.layers:
                self._cache_keys.append(torch.zeros(shape, device=self.device, dtype=self.dtype))
                self._cache_values.append(torch.zeros(shape, device=self.device,
                                                      dtype=self.dtype))
        key = (batch, length, steps)
        slots = self._slots.get(key)
        if slots is None:
            if len(self._slots) >= 16:  # a graph each; keep the shapes in recent use
                self._slots.pop(next(iter(self._slots)))
            slots = _Slots(self, batch, length, steps)
            self._slots[key] = slots
        return slots

    def _capture(self, slots: _Slots, exact: bool) -> None:
        """Record the decode step(s) this shape needs, once. A step that cannot be captured
        runs eagerly from then on."""
        if (bool(slots.step_graphs) if exact else slots.graph is not None):
            return
        try:
            with self.gpu_lock:
                self._record(slots, exact)
        except RuntimeError as exc:
            log.warning("decode step not capturable, running it eagerly: %s", exc)
            self.graph_error, self.use_graphs = str(exc), False
            slots.graph, slots.step_graphs = None, []
            torch.cuda.synchronize(self.device)

    def _record(self, slots: _Slots, exact: bool) -> None:
        """Warm up on a side stream, then capture. The warm-up writes garbage into the state
        buffers; ``generate`` captures before its prefill, which resets everything a step
        reads."""
        length, steps = slots.valid.shape[1], slots.tokens.shape[1]
        prompt = length - steps
        slots.slot.fill_(length - 1)
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            self._decode_step(slots, length if exact else None)
            slots.slot.fill_(length - 1)
            slots.step.zero_()
        torch.cuda.current_stream(self.device).wait_stream(stream)
        if not exact:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._decode_step(slots)
            slots.graph = graph
            return
        pool = torch.cuda.graph_pool_handle()  # replayed in capture order: one pool is safe
        graphs = []
        for step in range(1, steps):
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=pool, capture_error_mode="thread_local"):
                self._decode_step(slots, prompt + step)
            graphs.append(graph)
        slots.step_graphs = graphs

    def _all_ended(self, slots: _Slots, made: int) -> bool:
        ended = self._eos_mask[slots.tokens[:, :made]].any(-1)
        return bool(ended.all())

    def _result(self, slots: _Slots, made: int) -> Generated:
        return Generated(tokens=slots.tokens[:, :made].cpu(), probs=slots.probs[:, :made].cpu())
