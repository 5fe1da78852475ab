"""The InternVL engine on a tiny random-weight checkpoint, through the real loading code."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import sample_images
from PIL import Image

from shared.fields import SROIE_FIELDS

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def receipts() -> list[Image.Image]:
    return [Image.open(p).convert("RGB") for p in sample_images(3)]


def _engine(settings):  # type: ignore[no-untyped-def]
    from shared.engines.internvl.engine import InternVLEngine

    return InternVLEngine(SROIE_FIELDS, settings)


def test_batched_results_come_back_in_order(internvl_settings, receipts) -> None:
    settings, _ = internvl_settings
    engine = _engine(settings)
    extreme = Image.new("RGB", (20, 3000), "white")  # extreme aspect ratio
    images = [*receipts, extreme]
    batched = engine.extract(images)
    assert len(batched) == len(images)
    singles = [engine.extract([img])[0] for img in images]
    assert [r.raw_output for r in batched] == [r.raw_output for r in singles]
    for result in batched:
        assert set(result.fields) == {f.name for f in SROIE_FIELDS}
        # Random weights do not write JSON: recorded as unparseable, never a crash.
        if result.error:
            assert result.error.startswith("unparseable answer")
            assert all(v.value == "" and v.confidence == 0.0 for v in result.fields.values())


def test_an_image_the_processor_cannot_read_fails_alone(internvl_settings, receipts) -> None:
    settings, _ = internvl_settings
    engine = _engine(settings)
    bad = Image.new("RGB", (0, 0))  # zero-size: nothing to resize or tile
    results = engine.extract([receipts[0], bad, receipts[1]])
    assert len(results) == 3
    assert results[1].error and "cannot read this image" in results[1].error
    assert results[0].raw_output == engine.extract([receipts[0]])[0].raw_output


def test_confidence_is_the_weakest_token_of_the_value() -> None:
    from shared.engines.internvl.confidence import span_confidence

    # Tokens end at chars 5, 10, 15 with these probabilities.
    assert span_confidence((6, 14), [5, 10, 15], [0.9, 0.5, 0.8]) == 0.5
    assert span_confidence((0, 4), [5, 10, 15], [0.9, 0.5, 0.8]) == 0.9
    assert span_confidence((20, 25), [5, 10, 15], [0.9, 0.5, 0.8]) == 0.0


def test_missing_or_corrupt_adapter_keeps_the_previous_model(internvl_settings, receipts,
                                                             tmp_path: Path) -> None:
    from shared.engines.internvl.adapters import AdapterError

    settings, _ = internvl_settings
    engine = _engine(settings)
    before = engine.extract(receipts[:1])[0].raw_output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "adapter_config.json").write_text("{not json")
    for folder in (tmp_path / "missing", broken):
        with pytest.raises(AdapterError, match="missing or corrupt"):
            engine.use_version(7, folder)
    assert engine.model_version is None
    assert engine.extract(receipts[:1])[0].raw_output == before


def test_tiling_uint8_tensors_gives_the_processors_own_pixels(internvl_settings,
                                                               receipts) -> None:
    """On CUDA the engine hands the processor uint8 tensors instead of PIL images (faster);
    the tiles must be exactly what the processor makes from the PIL images."""
    settings, _ = internvl_settings
    engine = _engine(settings)
    kwargs = {"max_patches": engine.max_tiles, "return_tensors": "pt"}
    from_pil = engine.processor.image_processor(images=receipts, **kwargs)
    from_tensors = engine.processor.image_processor(
        images=[engine._to_device(img) for img in receipts], **kwargs)
    assert torch.equal(from_pil["pixel_values"], from_tensors["pixel_values"])
    assert list(from_pil["num_patches"]) == list(from_tensors["num_patches"])


def test_cudnn_attention_can_be_turned_off_for_repeatable_answers(internvl_settings) -> None:
    settings, _ = internvl_settings
    before = torch.backends.cuda.cudnn_sdp_enabled()
    try:
        _engine(settings)
        assert torch.backends.cuda.cudnn_sdp_enabled() == before  # the default leaves it alone
        _engine(settings.model_copy(update={"internvl_cudnn_attention": False}))
        assert not torch.backends.cuda.cudnn_sdp_enabled()
    finally:
        torch.backends.cuda.enable_cudnn_sdp(before)


def test_a_document_of_pages_is_one_stacked_image_with_the_document_budget(
        internvl_settings, receipts) -> None:
    """Two pages go in as one image, one page under the other, tiled up to the document
    budget; the engine answers once for the document, in the batch's order."""
    from shared.documents import Document, Page
    from shared.documents.layout import stack_images

    settings, _ = internvl_settings
    engine = _engine(settings.model_copy(update={"internvl_max_tiles": 2,
                                                 "internvl_document_tiles": 4}))
    two = Document("application/pdf", [Page(1, receipts[0]), Page(2, receipts[1])])
    prepared = engine.prepare([receipts[2], two])
    tiles = {row: group.pixel_values.shape[0] // len(group.rows)
             for group in prepared.groups for row in group.rows}
    assert tiles[0] <= 3 < tiles[1] <= 5  # budget + thumbnail: 2 + 1 for a page, 4 + 1 here
    results = engine.interpret(engine.infer(prepared))
    assert len(results) == 2
    stacked = stack_images([receipts[0], receipts[1]])
    assert stacked.height > receipts[0].height + receipts[1].height  # with a gap between


def test_line_items_come_back_as_rows_with_each_cells_own_confidence(internvl_settings) -> None:
    """An answer with line items, spelled by the tiny model's real tokenizer: each cell's
    confidence is its own tokens' weakest, the table's is its whole list's (the token that
    closes the list says there are no more items)."""
    from shared.engines.internvl.engine import InternVLEngine
    from shared.fields import ITEMS_FIELD

    settings, _ = internvl_settings
    engine = InternVLEngine((*SROIE_FIELDS, ITEMS_FIELD), settings)
    answer = ('{"company": "ABC", "date": "", "address": "", "total": "9.00", "items": '
              '[{"description": "TEA", "quantity": "2", "unit_price": "1.50", "amount": "3.00"},'
              ' {"description": "BUN", "quantity": "", "unit_price": "", "amount": "6.00"}]}')
    tok = engine.processor.tokenizer
    ids = tok(answer, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == answer
    # Every token sure but those of "BUN" and the closing "]}".
    ends = [len(tok.decode(ids[:i + 1])) for i in range(len(ids))]
    bun = answer.index("BUN")
    probs = [0.6 if bun <= end - 1 < bun + 3 else 0.7 if end > len(answer) - 2 else 0.99
             for end in ends]
    result = engine._result(ids, probs)
    items = result.fields["items"]
    assert result.error is None and items.value == ""
    assert [{c: cell.value for c, cell in row.cells.items()} for row in items.rows] == [
        {"description": "TEA", "quantity": "2", "unit_price": "1.50", "amount": "3.00"},
        {"description": "BUN", "quantity": "", "unit_price": "", "amount": "6.00"}]
    assert items.rows[0].cells["amount"].confidence == pytest.approx(0.99)
    assert items.rows[1].cells["description"].confidence == pytest.approx(0.6)
    assert items.confidence == pytest.approx(0.6)
    assert result.fields["total"].value == "9.00"
    assert "rows" in items.to_json() and "rows" not in result.fields["total"].to_json()
    # The answer's cap leaves room for a table, unless one is set.
    unset = settings.model_copy(update={"internvl_max_new_tokens": None})
    assert unset.answer_tokens((*SROIE_FIELDS, ITEMS_FIELD)) == 1024
    assert unset.answer_tokens(SROIE_FIELDS) == 256
    assert settings.answer_tokens((*SROIE_FIELDS, ITEMS_FIELD)) == engine.max_new_tokens
