"""The trainer's speed options change no number that matters: the answer-only loss and its LoRA
gradients equal the stock ``model(**batch).loss``, cached image features equal fresh ones, and
whole runs with every option on or off (workers, cache, answer-only, fp32 upcast) log the same
losses. CPU, tiny random-weight model, no mocks."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from helpers import DATA

from shared.fields import SROIE_FIELDS

torch = pytest.importorskip("torch")


def _examples():  # type: ignore[no-untyped-def]
    from trainer.data import Labelled

    return [Labelled(p.stem, json.loads(p.with_suffix(".json").read_text()), path=p)
            for p in sorted(DATA.glob("sroie-*.jpg"))[:4]]


def _params(**options):  # type: ignore[no-untyped-def]
    from trainer.qlora import TrainParams

    base = dict(epochs=3, batch_size=2, learning_rate=5e-3, lora_r=8, lora_alpha=16,
                precision="4bit", max_tiles=2)
    return TrainParams(**{**base, **options})


def _lora_grads(model) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return grads


def test_answer_only_loss_and_grads_equal_the_full_logits_loss(tiny_internvl: Path) -> None:
    from trainer.qlora import Collator, FeatureCache, batch_loss, image_features, prepare_model

    torch.manual_seed(0)
    params = _params(precision="fp32", lora_dropout=0.0)  # gradient checkpointing on (default)
    model, processor = prepare_model(str(tiny_internvl), params, "cpu")
    model.train()
    with torch.no_grad():  # lora_B starts at zero, which would leave every lora_A grad zero
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    # Two receipts of different lengths: right padding is in the batch.
    batch, tile_counts = Collator(processor, SROIE_FIELDS, max_tiles=2).with_tiles(
        _examples()[:2])

    stock = model(**batch).loss
    stock.backward()
    want = _lora_grads(model)
    assert len(want) == 2 * 7 * 2 and all(g.abs().sum() > 0 for g in want.values())

    fast = batch_loss(model, batch, answer_only=True)
    fast.backward()
    torch.testing.assert_close(fast, stock, rtol=1e-5, atol=1e-5)
    got = _lora_grads(model)
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-4, atol=1e-6, msg=name)

    # Features from the cache (the second time from it alone) give the same loss.
    cache = FeatureCache("cpu", budget_gb=0.0)  # 0: everything spills to CPU memory, also fine
    tiles = tile_counts.tolist()
    assert sum(tiles) == len(batch["pixel_values"])
    fresh = image_features(model, batch["pixel_values"], [7, 9], tiles, cache)
    assert sorted(cache.items) == [7, 9]
    cached = image_features(model, torch.zeros_like(batch["pixel_values"]), [7, 9], tiles, cache)
    torch.testing.assert_close(cached, fresh, rtol=0, atol=0)
    with_cache = batch_loss(model, batch, answer_only=True, features=cached)
    torch.testing.assert_close(with_cache, stock, rtol=1e-5, atol=1e-5)
    full_logits = batch_loss(model, batch, answer_only=False, features=cached)
    torch.testing.assert_close(full_logits, stock, rtol=1e-5, atol=1e-5)


def test_speed_options_log_the_same_losses(tiny_internvl: Path, tmp_path: Path) -> None:
    """Three epochs, so epochs 2-3 run on cached features; workers prepare the batches."""
    from trainer.qlora import fit

    def losses(**options: object) -> list[float]:
        return fit(str(tiny_internvl), _examples(), SROIE_FIELDS, _params(**options),
                   tmp_path / "adapter", device="cpu").losses

    stock = losses(answer_only_loss=False, cache_image_features=False, fp32_upcast=True,
                   num_workers=0)
    fast = losses(num_workers=2)
    assert len(stock) == 6
    assert fast == pytest.approx(stock, abs=1e-5)
    assert losses(cache_image_features=False) == pytest.approx(stock, abs=1e-5)


def test_collator_pickles_and_schedule_is_seeded(tiny_internvl: Path) -> None:
    from shared.engines.internvl.loading import load_processor
    from trainer.qlora import Collator, schedule

    collate = Collator(load_processor(str(tiny_internvl)), SROIE_FIELDS, max_tiles=2)
    copy = pickle.loads(pickle.dumps(collate))
    a, b = collate(_examples()[:2]), copy(_examples()[:2])
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    steps = schedule(5, _params(batch_size=2, grad_accum=2, epochs=2.5))
    assert steps == schedule(5, _params(batch_size=2, grad_accum=2, epochs=2.5))
    assert len(steps) == 5  # 2 steps per epoch (batches 2+2, then 1)
    assert [len(s) for s in steps] == [2, 1, 2, 1, 2]
    first_epoch = [i for s in steps[:2] for c in s for i in c]
    assert sorted(first_epoch) == list(range(5))
