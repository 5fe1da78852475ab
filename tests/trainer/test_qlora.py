"""QLoRA training on the CPU with the tiny model: the loss falls, the adapter round-trips, and
merged and unmerged serving agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import DATA

from shared.fields import SROIE_FIELDS

torch = pytest.importorskip("torch")


def _examples():  # type: ignore[no-untyped-def]
    from trainer.data import Labelled

    return [Labelled(p.stem, json.loads(p.with_suffix(".json").read_text()), path=p)
            for p in sorted(DATA.glob("sroie-*.jpg"))[:4]]


def _params(precision: str):  # type: ignore[no-untyped-def]
    from trainer.qlora import TrainParams

    return TrainParams(epochs=6, batch_size=2, learning_rate=5e-3, lora_r=8, lora_alpha=16,
                       precision=precision, max_tiles=2)


def test_qlora_lowers_the_loss_and_masks_the_prompt(tiny_internvl: Path, tmp_path: Path) -> None:
    from trainer.qlora import IGNORE, Collator, fit

    result = fit(str(tiny_internvl), _examples(), SROIE_FIELDS, _params("4bit"),
                 tmp_path / "adapter", device="cpu")
    first, last = sum(result.losses[:3]) / 3, sum(result.losses[-3:]) / 3
    assert last < first - 0.1, result.losses
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()

    from shared.engines.internvl.loading import load_processor

    processor = load_processor(str(tiny_internvl))
    batch = Collator(processor, SROIE_FIELDS, max_tiles=2)(_examples()[:1])
    trained = batch["labels"][0][batch["labels"][0] != IGNORE].tolist()
    # Only the answer (+ end token) is trained on; no image or prompt token is.
    answer = processor.tokenizer.decode(trained, skip_special_tokens=True)
    assert json.loads(answer)["total"] == _examples()[0].label["total"]
    image_token = processor.tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    assert image_token not in trained


def test_saved_adapter_reloads_to_the_same_outputs(tiny_internvl: Path, tmp_path: Path,
                                                   internvl_settings) -> None:
    from peft import PeftModel

    from shared.engines.internvl.engine import InternVLEngine
    from shared.engines.internvl.loading import LoadSpec, load_model
    from trainer.qlora import Collator, fit

    settings, _ = internvl_settings
    result = fit(str(tiny_internvl), _examples(), SROIE_FIELDS, _params("fp32"),
                 tmp_path / "adapter", device="cpu", keep_model=True)
    batch = Collator(_processor(tiny_internvl),
                     SROIE_FIELDS, max_tiles=2)(_examples()[:2])
    with torch.no_grad():
        before = result.model(**batch).logits
        reloaded = PeftModel.from_pretrained(
            load_model(LoadSpec(str(tiny_internvl), "fp32", "cpu")), str(tmp_path / "adapter")
        ).eval()
        after = reloaded(**batch).logits
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)

    # Serving: merged into the weights and unmerged peft modules give the same answers.
    images = [ex.image() for ex in _examples()]
    merged = InternVLEngine(SROIE_FIELDS, settings.model_copy(
        update={"internvl_merge_adapter": True}))
    plain = merged.extract(images)
    merged.use_version(1, tmp_path / "adapter")
    unmerged = InternVLEngine(SROIE_FIELDS, settings.model_copy(
        update={"internvl_merge_adapter": False}))
    unmerged.use_version(1, tmp_path / "adapter")
    assert type(unmerged.model).__name__.startswith("Peft")
    assert not type(merged.model).__name__.startswith("Peft")
    out_merged = [r.raw_output for r in merged.extract(images)]
    assert out_merged == [r.raw_output for r in unmerged.extract(images)]
    assert out_merged != [r.raw_output for r in plain], "the adapter changed nothing"


def _processor(path: Path):  # type: ignore[no-untyped-def]
    from shared.engines.internvl.loading import load_processor

    return load_processor(str(path))


def test_line_items_are_taught_only_by_labels_that_have_them(tiny_internvl: Path) -> None:
    """A label with rows teaches the items, prompt and answer; one without (a folder labelled
    with the four SROIE fields) leaves them out of both, so it cannot teach "no items"."""
    from dataclasses import replace

    from shared.engines.internvl.loading import load_processor
    from shared.fields import ITEMS_FIELD
    from trainer.qlora import IGNORE, Collator

    processor = load_processor(str(tiny_internvl))
    plain = _examples()[0]
    rows = [{"description": "KOPI O", "amount": "1.50"}]
    itemised = replace(plain, label={**plain.label, "items": rows})
    collator = Collator(processor, (*SROIE_FIELDS, ITEMS_FIELD), max_tiles=2)
    batch = collator([itemised, plain])
    tok = processor.tokenizer
    prompts, answers = [], []
    for ids, labels in zip(batch["input_ids"], batch["labels"], strict=True):
        answer = labels != IGNORE
        answers.append(json.loads(tok.decode(ids[answer], skip_special_tokens=True)))
        prompts.append(tok.decode(ids[~answer], skip_special_tokens=True))
    assert answers[0]["items"] == [{"description": "KOPI O", "quantity": "", "unit_price": "",
                                    "amount": "1.50"}]
    assert "items" not in answers[1] and answers[1]["total"] == plain.label["total"]
    assert '"items"' in prompts[0] and '"items"' not in prompts[1]
