"""FP8 products (``torch._scaled_mm`` runs on the CPU too, so the arithmetic is checked here;
speed and agreement with bf16 answers are measured on a GPU in benchmarks/)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from shared.engines.internvl import fp8  # noqa: E402


def _linear(n_in: int, n_out: int, seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    linear = torch.nn.Linear(n_in, n_out).to(torch.bfloat16)
    with torch.no_grad():  # channels of different sizes: a per-channel scale must follow them
        linear.weight.mul_(torch.logspace(-2, 1, n_out, dtype=torch.bfloat16)[:, None])
    return linear


def test_many_rows_use_fp8_and_stay_close_to_bf16() -> None:
    linear = _linear(64, 48)
    layer = fp8.Fp8Linear(linear)
    x = torch.randn(3, fp8.MIN_FP8_ROWS // 2 + 5, 64, dtype=torch.bfloat16)  # rows not /16
    x[:, ::7] *= 30  # rows of very different sizes: a per-row scale must follow them
    with torch.no_grad():
        want, got = linear(x).float(), layer(x).float()
    assert got.shape == want.shape
    # The same arithmetic spelled out: per-row activation and per-channel weight scales.
    def quantized(t: torch.Tensor) -> torch.Tensor:
        scale = t.abs().amax(dim=-1, keepdim=True).float() / fp8.FP8_MAX
        return (t.float() / scale).to(fp8.FP8).float() * scale

    spelled = quantized(x) @ quantized(linear.weight).T + linear.bias.float()
    assert ((got - spelled).norm(dim=-1) / spelled.norm(dim=-1)).max() < 0.01
    # ...and what that costs against bf16: e4m3 keeps 3 mantissa bits.
    rel = (got - want).norm(dim=-1) / want.norm(dim=-1)
    assert rel.mean() < 0.06 and rel.max() < 0.15, (rel.mean(), rel.max())
    assert not torch.equal(got, want)  # it really went through FP8


def test_few_rows_use_the_bf16_weights_exactly() -> None:
    linear = _linear(64, 48)
    layer = fp8.Fp8Linear(linear)
    x = torch.randn(8, 1, 64, dtype=torch.bfloat16)  # a decode step: one row per receipt
    with torch.no_grad():
        assert torch.equal(layer(x), linear(x))


def test_convert_swaps_the_language_model_and_optionally_the_vision_tower(
        internvl_settings) -> None:  # type: ignore[no-untyped-def]
    from shared.engines.internvl.loading import LoadSpec, load_model

    settings, _ = internvl_settings
    counts = {}
    for vision in (False, True):
        model = load_model(LoadSpec(settings.internvl_model, "bf16", "cpu"))
        counts[vision] = fp8.convert(model, vision=vision)
        layers = model.model.language_model.layers
        assert isinstance(layers[0].mlp.down_proj, fp8.Fp8Linear)
        vision_fc1 = model.model.vision_tower.encoder.layer[0].mlp.fc1
        assert isinstance(vision_fc1, fp8.Fp8Linear) is vision
    text = model.config.text_config
    assert counts[False] == 7 * text.num_hidden_layers  # q k v o gate up down
    assert counts[True] == counts[False] + 6 * len(model.model.vision_tower.encoder.layer)


def test_static_scales_calibrate_in_bf16_then_clip_instead_of_overflowing() -> None:
    linear = _linear(64, 48)
    layer = fp8.Fp8Linear(linear, static=True)
    x = torch.randn(2, fp8.MIN_FP8_ROWS, 64, dtype=torch.bfloat16)
    with torch.no_grad():
        assert torch.equal(layer(x), linear(x))  # calibrating: the bf16 product
        assert fp8.end_calibration(layer) and not fp8.end_calibration(layer)
        assert float(layer.input_amax) == float(x.abs().max())
        got = layer(x).float()
        step = float(x.abs().max()) * fp8.CALIBRATION_MARGIN / fp8.FP8_MAX
        w_scale = linear.weight.abs().amax(dim=1, keepdim=True).float() / fp8.FP8_MAX
        w = (linear.weight.float() / w_scale).to(fp8.FP8).float() * w_scale
        spelled = (x.float() / step).to(fp8.FP8).float() * step @ w.T + linear.bias.float()
        assert ((got - spelled).norm(dim=-1) / spelled.norm(dim=-1)).max() < 0.01
        # A later batch past the calibrated range is clipped to FP8's largest value, not NaN.
        loud = layer(x * 100).float()
        assert torch.isfinite(loud).all()


def test_the_engine_refuses_fp8_settings_it_cannot_honour(internvl_settings) -> None:  # type: ignore[no-untyped-def]
    from shared.engines.internvl.engine import InternVLEngine
    from shared.fields import SROIE_FIELDS

    settings, _ = internvl_settings
    refine = settings.model_copy(update={"internvl_fp8_static": True})
    with pytest.raises(ValueError, match="refine RECEIPTFLOW_INTERNVL_FP8"):
        InternVLEngine(SROIE_FIELDS, refine)
    on_cpu = settings.model_copy(update={"internvl_fp8": True, "internvl_precision": "bf16",
                                         "internvl_device": "cpu"})
    with pytest.raises(ValueError, match="FP8 tensor cores"):
        InternVLEngine(SROIE_FIELDS, on_cpu)
