from __future__ import annotations

import pytest

from shared.scoring import ScoreBoard, mean_score, receipt_score


def test_metric_is_mean_fuzz_ratio_over_the_label_keys() -> None:
    label = {"company": "ABC SDN BHD", "total": "9.00"}
    assert receipt_score(label, {"company": "ABC SDN BHD", "total": "9.00"}) == 100.0
    # A missing key scores as the empty string; extra predicted keys are ignored.
    assert receipt_score(label, {"company": "ABC SDN BHD", "date": "x"}) == 50.0
    assert receipt_score(label, {"company": "ABC SDN BHE", "total": "9.00"}) == pytest.approx(
        (100 * (1 - 2 / 22) + 100) / 2
    )


def test_board_reports_per_field_and_overall_means() -> None:
    board = ScoreBoard()
    board.add({"a": "x", "b": "y"}, {"a": "x", "b": "y"})
    board.add({"a": "x"}, {"a": "z"})
    assert board.count == 2
    assert board.mean == 50.0
    assert board.field_means() == {"a": 50.0, "b": 100.0}
    assert mean_score([({"a": "x"}, {"a": "x"})]) == 100.0
