"""The serving decoder (graph path, run eagerly on the CPU) against transformers' generate.

The tiny checkpoint's initial weights are so small that every answer is one repeated token, which
would let a broken decoder pass; the weights are re-drawn larger here so answers vary by image.
"""

from __future__ import annotations

import pytest
from PIL import Image

from shared.config import Settings
from shared.fields import SROIE_FIELDS

torch = pytest.importorskip("torch")


def _engine(internvl_settings, decoder: str, **extra):  # type: ignore[no-untyped-def]
    from shared.engines.internvl.engine import InternVLEngine

    settings, _ = internvl_settings
    values = settings.model_dump() | {"internvl_decoder": decoder, "internvl_max_new_tokens": 24}
    engine = InternVLEngine(SROIE_FIELDS, Settings(**(values | extra)))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in engine.model.parameters():
            if weight.dim() > 1:
                weight.copy_(torch.randn(weight.shape, generator=generator) * 0.15)
    return engine


@pytest.fixture(scope="module")
def noisy_receipts() -> list[Image.Image]:
    """Different sizes (so different tile counts, several groups) and different content."""
    generator = torch.Generator().manual_seed(1)
    sizes = [(64, 64), (400, 64), (90, 300), (200, 200), (400, 64), (64, 64)]
    return [Image.fromarray(torch.randint(0, 256, (h, w, 3), generator=generator,
                                          dtype=torch.uint8).numpy()) for w, h in sizes]


@pytest.mark.parametrize(("min_new_tokens", "attention"),
                         [(0, "masked"), (24, "masked"), (0, "exact"), (0, "flash")])
def test_graph_decoder_gives_generates_tokens_and_probabilities(
        internvl_settings, noisy_receipts, min_new_tokens, attention) -> None:  # type: ignore[no-untyped-def]
    fast = _engine(internvl_settings, "graph", internvl_min_new_tokens=min_new_tokens,
                   internvl_decode_attention=attention)
    reference = _engine(internvl_settings, "generate", internvl_min_new_tokens=min_new_tokens)
    prepared = fast.prepare(noisy_receipts)
    assert len(prepared.groups) >= 3  # several tile counts in one batch
    got, want = [], []
    for group in prepared.groups:
        got.append(fast._decode(group.input_ids, group.pixel_values))
        want.append(reference._decode(group.input_ids, group.pixel_values))
    for (tokens, probs), (ref_tokens, ref_probs) in zip(got, want, strict=True):
        assert tokens == ref_tokens
        assert len({tuple(t) for t in tokens}) >= 1
        for row, ref_row in zip(probs, ref_probs, strict=True):
            assert row == pytest.approx(ref_row, abs=1e-5)
    # Every shape decoded above used the one shared KV cache, sized for the largest.
    decoder = fast._greedy()
    longest = max(g.input_ids.shape[1] for g in prepared.groups) + fast.max_new_tokens
    assert decoder._cache_keys[0].shape[2] == longest
    assert 0 < len(decoder._slots) <= len(prepared.groups)  # growing the cache drops old ones
    for slots in decoder._slots.values():
        assert slots.keys[0].data_ptr() == decoder._cache_keys[0].data_ptr()
    answers = [r.raw_output for r in fast.extract(noisy_receipts)]
    assert answers == [r.raw_output for r in reference.extract(noisy_receipts)]
    assert len(set(answers)) >= 3  # the answers really differ by image


def test_prompt_ids_per_tile_count_match_the_processor(internvl_settings,
                                                       noisy_receipts) -> None:  # type: ignore[no-untyped-def]
    engine = _engine(internvl_settings, "graph")
    prepared = engine.prepare(noisy_receipts)
    for group in prepared.groups:
        image = noisy_receipts[group.rows[0]]
        enc = engine.processor(images=[image], text=[engine._prompt], return_tensors="pt",
                               images_kwargs={"max_patches": engine.max_tiles})
        assert torch.equal(group.input_ids[0], enc["input_ids"][0])
        tiles = group.pixel_values.shape[0] // len(group.rows)
        assert torch.equal(group.pixel_values[:tiles], enc["pixel_values"].to(
            group.pixel_values.dtype))
