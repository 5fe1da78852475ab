"""Opt-in FP8 matrix products for serving on Hopper-class GPUs (compute capability 8.9+).

Hopper's FP8 tensor cores do twice the bf16 rate. Weights are stored as float8_e4m3 with one
scale per output channel; activations are scaled per row (token) on the fly, and the product
comes back in bf16 via ``torch._scaled_mm``. A per-row scale needs the whole row before the
first value can be cast, so the kernel that makes a product's input (a norm, an activation)
reads it twice; with ``static=True`` each layer instead keeps one activation scale, calibrated
on the first ``CALIBRATION_RECEIPTS`` receipts it serves (which run in bf16), and the cast fuses
into that kernel.

The language model's projections change only in the prefill: in decode steps, where the
products are small and bound by reading the weights, FP8 measured slower than bf16 on an H100
(benchmarks/results), so those keep the bf16 weights.
The vision tower's products are a separate opt-in (``vision=True``). This changes numerics, so
it is opt-in and the benchmark reports how often its answers agree with bf16 ones.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

FP8 = torch.float8_e4m3fn
FP8_MAX = torch.finfo(FP8).max


def available(device: torch.device | str) -> bool:
    device = torch.device(device)
    return device.type == "cuda" and torch.cuda.get_device_capability(device) >= (8, 9)


# Fewer rows than this (decode steps: one per receipt) use the bf16 weights.
MIN_FP8_ROWS = 1024


# A static scale covers this much more than the largest activation seen while calibrating;
# larger values later are clipped to FP8's range.
CALIBRATION_MARGIN = 1.25
# Static scales are fixed once the batches seen while calibrating held this many receipts.
CALIBRATION_RECEIPTS = 64


class Fp8Linear(nn.Module):
    def __init__(self, linear: nn.Linear, static: bool = False) -> None:
        super().__init__()
        self.linear = linear  # bf16, for small products
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / FP8_MAX
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight", (weight / scale).to(FP8))  # (out, in), row-major
        self.register_buffer("weight_scale", scale.t().contiguous())  # (1, out)
        self.bias = linear.bias
        self.static = self.calibrating = static
        self.register_buffer("input_amax", torch.zeros((), device=weight.device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, shape[-1])
        count = rows.shape[0]
        if count < MIN_FP8_ROWS:
            return self.linear(x)
        if self.calibrating:
            self.input_amax.copy_(torch.maximum(self.input_amax, x.abs().amax().float()))
            return self.linear(x)
        pad = -count % 16  # _scaled_mm wants every dimension a multiple of 16
        if pad:
            rows = torch.nn.functional.pad(rows, (0, 0, 0, pad))
        if self.static:
            step = self.input_amax * (CALIBRATION_MARGIN / FP8_MAX)
            # float8_e4m3fn has no infinity: out-of-range values must be clipped, not cast.
            quantized = (rows.float() / step).clamp(-FP8_MAX, FP8_MAX).to(FP8)
            # _scaled_mm takes row-wise scales only as a materialised (rows, 1) tensor.
            scale = step.expand(rows.shape[0], 1).contiguous()
        else:
            scale = rows.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-12) / FP8_MAX
            quantized = (rows.float() / scale).to(FP8)
        out = torch._scaled_mm(quantized, self.weight.t(), scale_a=scale,
                               scale_b=self.weight_scale, out_dtype=x.dtype)
        if pad:
            out = out[:count]
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*shape[:-1], self.out_features)


def convert(model: Any, vision: bool = False, static: bool = False) -> int:
    """Swap the language model's linear layers (and with ``vision``, the vision tower's) for
    FP8 ones, in place. Returns how many were swapped."""
    swapped = 0
    parts = [model.model.language_model.layers]
    if vision:
        parts.append(model.model.vision_tower.encoder.layer)
    for parent in [m for part in parts for m in part.modules()]:
        for name, child in list(parent.named_children()):
            if (type(child) is nn.Linear and child.in_features % 16 == 0
                    and child.out_features % 16 == 0):
                setattr(parent, name, Fp8Linear(child, static=static))
                swapped += 1
    return swapped


def end_calibration(model: Any) -> bool:
    """Fix the static scales from what the layers saw; True if any layer was calibrating."""
    layers = [m for m in model.modules() if isinstance(m, Fp8Linear) and m.calibrating]
    for layer in layers:
        layer.input_amax.clamp_(min=1e-6)  # a layer that saw only zeros still gets a scale
        layer.calibrating = False
    return bool(layers)
