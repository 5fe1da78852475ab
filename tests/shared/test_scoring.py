from __future__ import annotations

import pytest

from shared.scoring import ScoreBoard, exact_match, mean_score, receipt_score


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


@pytest.mark.parametrize(("label", "prediction", "kind", "right"), [
    ("ABC SDN BHD", "abc  sdn bhd", "company", True),   # case and whitespace do not count
    ("ＡＢＣ", "ABC", "company", True),                  # NFKC: full-width letters
    ("ABC SDN BHD", "ABC SDN BHD.", "company", False),  # a character does
    ("9.00", "RM 9.00", "amount", True),                 # amounts as numbers
    ("4,70", "4.70", "amount", True),                    # decimal comma
    ("$60.44", "60.44", "amount", True),
    ("1,234.50", "1234.5", "amount", True),
    ("9.00", "9.01", "amount", False),
    ("9.00", "", "amount", False),
    ("2621ORANGETHORPEAVE,FULLERTON.", "2621 Orangethorpe Ave, Fullerton.", "address", True),
    ("12/30/2016", "12/30/2016 FRI", "date", False),     # a date is compared as printed
    ("ARTIE’S", "ARTIE'S", "company", True),             # a typographic quote is a quote
    ("27Dec´16", "27DEC'16", "date", True),              # an acute accent for one, too
    ("CAFÉ", "CAFE", "company", False),                  # a letter's own accent is not
])
def test_exact_match_ignores_only_what_does_not_change_the_value(
        label: str, prediction: str, kind: str, right: bool) -> None:
    assert exact_match(label, prediction, kind) is right


def test_board_reports_exact_rates_and_normalised_fuzzy_scores() -> None:
    label = {"company": "CHOEUNKOREANRESTAURANT", "total": "4,70"}
    prediction = {"company": "Choeun Korean Restaurant", "total": "EUR 4.70"}
    plain, normalised = ScoreBoard(), ScoreBoard(normalize=True)
    for board in (plain, normalised):
        board.add(label, prediction)
    assert plain.exact_rates() == {"company": 100.0, "total": 100.0}
    assert plain.mean < 60  # the printed texts differ in case, spaces and the currency
    assert normalised.mean == 100.0
    summary = normalised.summary()
    assert summary["exact_mean"] == 100.0 and summary["normalized"] is True
    board = ScoreBoard()
    board.add({"total": "9.00"}, {"total": "9.10"})
    board.add({"total": "9.00"}, {"total": "9.00"})
    assert board.exact_rates() == {"total": 50.0}


def test_a_three_digit_group_is_the_same_amount_whichever_mark_prints_it() -> None:
    assert exact_match("197.285", "197,285", "amount")
    assert not exact_match("197.285", "197.28", "amount")
    assert exact_match("($3.13)", "-3.13", "amount")
