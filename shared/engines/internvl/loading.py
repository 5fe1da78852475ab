"""Loading an InternVL checkpoint (`-hf` format, local folder or hub id) at a chosen precision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The vision tower and projector stay in bf16 under 4-bit: they are small, and quantizing them
# costs accuracy for little memory.
_KEEP_UNQUANTIZED = ["vision_tower", "multi_modal_projector", "lm_head"]


@dataclass(frozen=True)
class LoadSpec:
    path: str
    precision: str = "bf16"  # 4bit | bf16 | fp32
    device: str = "auto"


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def compute_dtype(precision: str, device: str) -> Any:
    import torch

    if precision == "fp32" or (device == "cpu" and precision == "4bit"):
        # bitsandbytes' CPU 4-bit kernels compute in fp32.
        return torch.float32
    return torch.bfloat16


def load_model(spec: LoadSpec) -> Any:
    from transformers import AutoModelForImageTextToText, BitsAndBytesConfig

    device = resolve_device(spec.device)
    dtype = compute_dtype(spec.precision, device)
    kwargs: dict[str, Any] = {"dtype": dtype, "attn_implementation": "sdpa"}
    if spec.precision == "4bit":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype, llm_int8_skip_modules=_KEEP_UNQUANTIZED,
        )
        kwargs["device_map"] = {"": device}
    model = AutoModelForImageTextToText.from_pretrained(spec.path, **kwargs)
    if spec.precision != "4bit":
        model = model.to(device)
    model.eval()
    return model


def load_processor(path: str) -> Any:
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(path)
    # Batched generation appends new tokens on the right, so prompts are padded on the left.
    processor.tokenizer.padding_side = "left"
    return processor
