"""Opt-in FP8 matrix products for serving on Hopper-class GPUs (compute capability 8.9+).

Hopper's FP8 tensor cores do twice the bf16 rate. Weights are stored as float8_e4m3 with one
scale per output channel; activations are scaled per row (token) on the fly, and the product
comes back in bf16 via ``torch._scaled_mm``. Only the language model's projections change, and
only in the prefill: measured on an H100 (benchmarks/results), FP8 in the vision tower saved
nothing (its scale-and-cast passes cost what the faster products gained), and in decode steps,
where the products are small and bound by reading the weights, it was slower than bf16, so
those keep the bf16 weights. This changes numerics, so it is opt-in and the benchmark reports
how often its answers agree with bf16 ones.
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


class Fp8Linear(nn.Module):
    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear  # bf16, for small products
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / FP8_MAX
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight", (weight / scale).to(FP8))  # (out, in), row-major
        self.register_buffer("weight_scale", scale.t().contiguous())  # (1, out)
        self.bias = linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, shape[-1])
        count = rows.shape[0]
        if count < MIN_FP8_ROWS:
            return self.linear(x)
        pad = -count % 16  # _scaled_mm wants every dimension a multiple of 16
        if pad:
            rows = torch.nn.functional.pad(rows, (0, 0, 0, pad))
        scale = rows.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-12) / FP8_MAX
        quantized = (rows.float() / scale).to(FP8)
        out = torch._scaled_mm(quantized, self.weight.t(), scale_a=scale,
                               scale_b=self.weight_scale, out_dtype=x.dtype)
        if pad:
            out = out[:count]
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*shape[:-1], self.out_features)


def convert(model: Any) -> int:
    """Swap the language model's linear layers for FP8 ones, in place. Returns how many were
    swapped."""
    swapped = 0
    for parent in list(model.model.language_model.layers.modules()):
        for name, child in list(parent.named_children()):
            if (type(child) is nn.Linear and child.in_features % 16 == 0
                    and child.out_features % 16 == 0):
                setattr(parent, name, Fp8Linear(child))
                swapped += 1
    return swapped
