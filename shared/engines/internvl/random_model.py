"""Build a random-weight InternVL checkpoint folder in the `-hf` format, offline.

No model hub is reachable from tests, CI or the GPU machine, yet the engine and trainer must run
through the same ``from_pretrained`` code as with a real checkpoint. This writes a folder that
loads exactly like ``OpenGVLab/InternVL3-2B-hf``: config, weights, a byte-level BPE tokenizer
trained on the spot, image/video processors and a chat template.

``size="tiny"`` is for CPU tests (seconds); ``size="2b"`` matches InternVL3-2B's shapes
(InternViT-300M + a Qwen2 1.5B-class LLM, ~2.2B parameters) for GPU benchmarks, where speed and
memory do not depend on the weight values.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIAL_TOKENS = {
    "start_image_token": "<img>",
    "end_image_token": "</img>",
    "context_image_token": "<IMG_CONTEXT>",
    "video_token": "<video>",
}
CHAT_TOKENS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]

# Qwen2-style chat template, as InternVL3-hf ships it (images become the image token).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<IMG_CONTEXT>\n' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

SIZES = {
    "tiny": {
        "vision": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=128, image_size=[64, 64], patch_size=[16, 16]),
        "text": dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2),
        "vocab": 1024,
    },
    "2b": {
        "vision": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                       intermediate_size=4096, image_size=[448, 448], patch_size=[14, 14]),
        "text": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                     num_attention_heads=12, num_key_value_heads=2),
        "vocab": 151674,
    },
}

_CORPUS = [
    '{"company": "BOOK TA .K (TAMAN DAYA) SDN BHD", "date": "25/12/2018", '
    '"address": "NO.53 55,57 & 59, JALAN SAGU 18, TAMAN DAYA, 81100 JOHOR BAHRU, JOHOR.", '
    '"total": "9.00"}',
    "Extract the fields company, date, address, total from this receipt as JSON.",
    "0123456789 .,:;/-()&@#$%*+= abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ",
]


def _tokenizer(vocab_size: int):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = CHAT_TOKENS + list(SPECIAL_TOKENS.values())
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=min(vocab_size, 1024) - len(specials), special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    # The serving instruction is in the corpus so it takes about as many tokens as a real
    # 150k-token vocabulary gives it (~90, not ~300): benchmarks then see realistic prompts.
    from shared.engines.internvl import prompt
    from shared.fields import SROIE_FIELDS

    corpus = [*_CORPUS, prompt.instruction(SROIE_FIELDS)]
    bpe.train_from_iterator(corpus * 20, trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=specials, extra_special_tokens=SPECIAL_TOKENS,
        padding_side="left", chat_template=CHAT_TEMPLATE,
    )
    return tok


def build(folder: Path, size: str = "tiny", seed: int = 0, dtype: str = "float32") -> Path:
    """Write a random-weight InternVL checkpoint to ``folder`` and return it."""
    import torch
    from transformers import (
        GotOcr2ImageProcessor,
        InternVLConfig,
        InternVLForConditionalGeneration,
        InternVLProcessor,
        InternVLVideoProcessor,
        InternVLVisionConfig,
        Qwen2Config,
    )

    spec = SIZES[size]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(spec["vocab"])
    vocab = max(spec["vocab"], len(tokenizer))
    vision = InternVLVisionConfig(**spec["vision"])
    text = Qwen2Config(vocab_size=vocab, max_position_embeddings=8192, tie_word_embeddings=True,
                       **spec["text"])
    side = spec["vision"]["image_size"][0]
    patch = spec["vision"]["patch_size"][0]
    seq_len = int((side // patch) ** 2 * 0.25)  # pixel shuffle at downsample_ratio 0.5
    config = InternVLConfig(
        vision_config=vision, text_config=text, image_seq_length=seq_len,
        image_token_id=tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS["context_image_token"]),
    )
    config.text_config.eos_token_id = tokenizer.eos_token_id
    config.text_config.pad_token_id = tokenizer.pad_token_id
    torch.manual_seed(seed)
    model = InternVLForConditionalGeneration(config).to(getattr(torch, dtype))
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)

    image_processor = GotOcr2ImageProcessor(
        size={"height": side, "width": side}, crop_to_patches=True, min_patches=1,
        max_patches=6, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
    )
    processor = InternVLProcessor(
        image_processor=image_processor, tokenizer=tokenizer,
        video_processor=InternVLVideoProcessor(), image_seq_length=seq_len,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(folder)
    (folder / "receiptflow-random-model.json").write_text(json.dumps({"size": size, "seed": seed}))
    return folder
