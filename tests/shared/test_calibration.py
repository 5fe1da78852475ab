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
