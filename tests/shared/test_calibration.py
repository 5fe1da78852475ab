"""Calibrated confidence: isotonic fits that mean what they say, measured out of fold."""

from __future__ import annotations

import random

import pytest

pytest.importorskip("sklearn")

from shared import calibration


def _reviewed(n: int, seed: int, squash: float = 1.0) -> tuple[list[float], list[bool]]:
    """Fields right with probability p; the engine reports p ** squash (a score, not p)."""
    rng = random.Random(seed)
    probs = [rng.random() for _ in range(n)]
    return [p ** squash for p in probs], [rng.random() < p for p in probs]


def test_an_uncalibrated_score_becomes_a_probability() -> None:
    conf, right = _reviewed(4000, seed=1, squash=0.3)  # overconfident: 0.5 reported as 0.81
    assert calibration.expected_calibration_error(conf, right) > 0.15
    cal = calibration.fit("total", conf, right)
    assert cal is not None and cal.ece < 0.03
    held_conf, held_right = _reviewed(4000, seed=2, squash=0.3)
    probs = [cal.probability(c) for c in held_conf]
    assert calibration.expected_calibration_error(probs, held_right) < 0.03
    assert 0.45 < cal.probability(0.5 ** 0.3) < 0.55


def test_the_threshold_keeps_the_error_among_accepted_fields_under_the_target() -> None:
    conf, right = _reviewed(4000, seed=3)
    cal = calibration.fit("date", conf, right, target_error=0.05)
    assert cal is not None and cal.threshold is not None
    held_conf, held_right = _reviewed(4000, seed=4)
    accepted = [r for c, r in zip(held_conf, held_right, strict=True) if cal.accepts(c)]
    assert len(accepted) > 100
    assert 1 - sum(accepted) / len(accepted) <= 0.06
    assert calibration.Calibration.from_json(cal.to_json()) == cal


def test_no_threshold_when_nothing_is_sure_enough_and_none_without_data() -> None:
    conf, right = _reviewed(500, seed=5)
    right = [r and random.Random(i).random() < 0.5 for i, r in enumerate(right)]  # at most 50%
    cal = calibration.fit("address", conf, right, target_error=0.01)
    assert cal is not None and cal.threshold is None and not cal.accepts(0.99)
    assert calibration.fit("company", [0.9] * 10, [True] * 10) is None


def test_each_field_takes_the_curve_that_predicts_held_out_reviews_better() -> None:
    rng = random.Random(11)
    # A judge's score: logistic in the truth, only too sure of itself (few reviews): the
    # two-parameter sigmoid wins over the staircase.
    probs = [rng.random() for _ in range(150)]
    sure = [p ** 2 / (p ** 2 + (1 - p) ** 2) for p in probs]
    cal = calibration.fit("total", sure, [rng.random() < p for p in probs])
    assert cal is not None and cal.method == "sigmoid"
    assert 0.3 < cal.probability(0.5) < 0.7 and cal.probability(0.9) < 0.85  # truth: 0.75
    # A rule's score: right almost always above 0.6, a coin below; no sigmoid has that step.
    conf = [rng.random() for _ in range(600)]
    right = [rng.random() < (0.99 if c > 0.6 else 0.3) for c in conf]
    cal = calibration.fit("date", conf, right)
    assert cal is not None and cal.method == "isotonic"
    assert cal.probability(0.7) > 0.95 and cal.probability(0.5) < 0.45


def _dated_and_totalled(n: int, seed: int, slips: int) -> list[calibration.Record]:
    """Receipts whose dates are always right and whose totals are right where the engine is
    sure, but for ``slips`` labels among the surest totals (the amount printed, a label
    that says otherwise)."""
    rng = random.Random(seed)
    records: list[calibration.Record] = []
    for i in range(n):
        total = rng.random()
        right = (rng.random() < total) if i >= slips else False
        records.append({"date": (0.5 + rng.random() / 2, True),
                        "total": (0.999 if i < slips else total, right)})
    return records


def test_cuts_chosen_together_share_the_target_between_the_fields() -> None:
    """One slip among the surest 60 totals puts every total cut over 1% on its own; with the
    dates, which are never wrong, the fields let through are wrong at most 1% of the time."""
    records = _dated_and_totalled(300, seed=21, slips=1)
    records += [{"date": (0.7, True), "total": (0.999, True)} for _ in range(60)]
    totals = [r["total"] for r in records]
    own, _, _ = calibration.pick_threshold([c for c, _ in totals], [ok for _, ok in totals], 0.01)
    assert own is None
    found = calibration.pick_thresholds(records, ["date", "total"], 0.01)
    assert found is not None
    cuts, error, through = found
    let_through = [r for r in records if all(r[n][0] >= cuts[n] for n in cuts)]
    wrong = sum(not r[n][1] for r in let_through for n in cuts)
    assert len(let_through) == through >= 60 and wrong / (2 * through) == error <= 0.01
    # Too few receipts to measure 1% on: no cuts.
    assert calibration.pick_thresholds(records[:30], ["date", "total"], 0.01) is None


def test_calibrations_carry_the_cuts_chosen_together_and_the_fields_they_were_chosen_for() -> None:
    records = _dated_and_totalled(300, seed=22, slips=1)
    records += [{"date": (0.7, True), "total": (0.999, True)} for _ in range(60)]
    cals = {n: calibration.fit(n, [r[n][0] for r in records], [r[n][1] for r in records])
            for n in ("date", "total")}
    assert cals["total"] is not None and cals["total"].threshold_confidence is None
    cut = calibration.with_cuts(cals, records, ["date", "total"], 0.01)  # type: ignore[arg-type]
    assert cut["total"].accept_fields == ["date", "total"] == cut["date"].accept_fields
    assert cut["total"].accepts(0.999) and cut["total"].error_at_threshold <= 0.01  # type: ignore[operator]
    assert calibration.Calibration.from_json(cut["total"].to_json()) == cut["total"]
    # Where nothing meets the target, no field of them keeps a cut of its own.
    wrong = [{**r, "date": (r["date"][0], False)} for r in records]
    none = calibration.with_cuts(cals, wrong, ["date", "total"], 0.01)  # type: ignore[arg-type]
    assert not none["date"].accepts(1.0) and not none["total"].accepts(1.0)
