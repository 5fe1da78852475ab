"""The InternVL engine's answer parser on hand-written model answers (no model needed)."""

from __future__ import annotations

import pytest

from shared.engines.internvl.parsing import NO_OBJECT, TRUNCATED_EMPTY, parse_answer

FIELDS = ["company", "date", "address", "total"]


def values(**given: str) -> dict[str, str]:
    """All four fields, "" unless given."""
    return {name: given.get(name, "") for name in FIELDS}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(
            '{"company": "ABC SDN BHD", "date": "01/02/2018", "address": "1 Jalan X", '
            '"total": "9.00"}',
            values(company="ABC SDN BHD", date="01/02/2018", address="1 Jalan X", total="9.00"),
            id="plain",
        ),
        pytest.param(
            'Here is the data:\n```json\n{"company": "ABC", "total": "9.00"}\n```\nHope it helps!',
            values(company="ABC", total="9.00"),
            id="fence-with-prose",
        ),
        pytest.param(
            '```\n{"company": "ABC"}\n```', values(company="ABC"), id="bare-fence",
        ),
        pytest.param(
            '{"company": "ABC", "total": "9.00",}', values(company="ABC", total="9.00"),
            id="trailing-comma",
        ),
        pytest.param(
            "{'company': 'McDonald's', 'total': '9.00'}",
            values(company="McDonald's", total="9.00"),
            id="single-quotes-with-apostrophe",
        ),
        pytest.param(
            '{"Company": "ABC", " DATE ": "01/02/2018", "Total": "9.00"}',
            values(company="ABC", date="01/02/2018", total="9.00"),
            id="key-case-and-spaces",
        ),
        pytest.param(
            '{"company": "ABC", "vendor": "XYZ", "total_amount": "5", "tax": "1"}',
            values(company="ABC"),
            id="extra-and-synonym-keys-ignored",
        ),
        pytest.param(
            '{"company": "  ABC  ", "address": "\\n1 Jalan X "}',
            values(company="ABC", address="1 Jalan X"),
            id="values-stripped",
        ),
        pytest.param(
            '{"company": null, "date": 20180102, "total": 9.00, "address": true}',
            values(date="20180102", total="9.00", address="true"),
            id="non-string-scalars",
        ),
        pytest.param(
            '{"company": {"name": "ABC", "reg": null}, "address": ["1 Jalan X", \'KL\', 2.50,]}',
            values(company='{"name":"ABC","reg":null}', address='["1 Jalan X","KL",2.50]'),
            id="nested-as-compact-json",
        ),
        pytest.param(
            '{"company": "Caf\\u00e9 \\"Le\\" \\\\ Bar", "address": "L1\\tL2"}',
            values(company='Café "Le" \\ Bar', address="L1\tL2"),
            id="escapes",
        ),
        pytest.param(
            'Ignore {} and {"note": "x"}; the answer is {"company": "ABC"} and {"company": "Z"}',
            values(company="ABC"),
            id="first-object-with-a-field",
        ),
        pytest.param(
            '{"receipt": {"company": "ABC", "total": "9.00"}}',
            values(company="ABC", total="9.00"),
            id="wrapped-object",
        ),
    ],
)
def test_values(answer: str, expected: dict[str, str]) -> None:
    parsed = parse_answer(answer, FIELDS)
    assert parsed.values == expected
    assert parsed.error is None
    assert not parsed.truncated


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(
            '{"company": "ABC", "date": "01/02/2018", "address": "1 Jal',
            values(company="ABC", date="01/02/2018"), id="inside-a-string",
        ),
        pytest.param(
            '```json\n{"company": "ABC", "total": 9.0', values(company="ABC"),
            id="inside-a-number",  # "9.0" may be the start of "9.00": not trusted
        ),
        pytest.param(
            '{"company": "ABC", "address": {"line1": "1 Jalan X", "line2"',
            values(company="ABC"), id="inside-a-nested-object",
        ),
        pytest.param('{"company": "ABC",\n "da', values(company="ABC"), id="inside-a-key"),
        pytest.param('{"company": "ABC"', values(company="ABC"), id="before-closing-brace"),
    ],
)
def test_truncated_keeps_complete_pairs(answer: str, expected: dict[str, str]) -> None:
    parsed = parse_answer(answer, FIELDS)
    assert parsed.values == expected
    assert parsed.error is None
    assert parsed.truncated


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        pytest.param("", NO_OBJECT, id="empty"),
        pytest.param("I cannot read this receipt, sorry.", NO_OBJECT, id="prose"),
        pytest.param("Set {company} to the name; {date is unknown}", NO_OBJECT, id="braces-prose"),
        pytest.param('{"comp', TRUNCATED_EMPTY, id="truncated-before-any-field"),
        pytest.param('{"company": "ABC" "total": "9"}', NO_OBJECT, id="missing-comma"),
    ],
)
def test_unparseable(answer: str, error: str) -> None:
    parsed = parse_answer(answer, FIELDS)
    assert parsed.values == values()
    assert parsed.spans == {}
    assert parsed.error == error


def test_object_without_requested_fields_is_not_an_error() -> None:
    parsed = parse_answer('{"merchant": "ABC", "amount": "9.00"}', FIELDS)
    assert parsed.values == values()
    assert parsed.spans == {}
    assert parsed.error is None


def test_keys_match_field_names_with_underscores() -> None:
    parsed = parse_answer('{"Total Amount": "9.00", "total": "1"}', ["total_amount", "total"])
    assert parsed.values == {"total_amount": "9.00", "total": "1"}


@pytest.mark.parametrize(
    ("answer", "raw"),
    [
        pytest.param(
            '{"company": "ABC SDN BHD", "date": "01/02/2018", "address": "1 Jalan X", '
            '"total": "9.00"}',
            {"company": "ABC SDN BHD", "date": "01/02/2018", "address": "1 Jalan X",
             "total": "9.00"},
            id="plain",
        ),
        pytest.param(
            'Sure!\n```json\n{\n  "company": " ABC ",\n  "total": 9.00\n}\n```\nDone.',
            {"company": "ABC", "total": "9.00"},
            id="fence-prose-number-padding",
        ),
        pytest.param(
            '{"company": "Caf\\u00e9 \\"Le\\" Bar", "address": "A\\\\B"}',
            {"company": 'Caf\\u00e9 \\"Le\\" Bar', "address": "A\\\\B"},
            id="escapes-kept-raw",
        ),
        pytest.param(
            "{'company': 'ABC', 'address': {'line': 'X'}, 'date': null, 'total': ''}",
            {"company": "ABC", "address": "{'line': 'X'}"},
            id="single-quotes-nested-and-empty",
        ),
        pytest.param(
            '{"company": "ABC", "total": "9.00", "addr',
            {"company": "ABC", "total": "9.00"},
            id="truncated",
        ),
    ],
)
def test_spans_cover_raw_value_text(answer: str, raw: dict[str, str]) -> None:
    parsed = parse_answer(answer, FIELDS)
    assert set(parsed.spans) == set(raw)  # empty and null values have no span
    for name, text in raw.items():
        start, end = parsed.spans[name]
        assert answer[start:end] == text


def test_spans_point_into_the_chosen_object() -> None:
    answer = '{"company": "ABC"} then {"company": "ABC", "total": "1"}'
    parsed = parse_answer(answer, FIELDS)
    assert parsed.spans["company"] == (answer.index("ABC"), answer.index("ABC") + 3)
    assert "total" not in parsed.spans


@pytest.mark.parametrize(
    "answer",
    ["{" * 5000, "[" * 5000, '{"a": ' + "[" * 5000, '{"company": "\\', "{'", "}{", '{"a":}'],
)
def test_never_raises(answer: str) -> None:
    parsed = parse_answer(answer, FIELDS)
    assert parsed.values == values()


# --- table fields (line items) ---------------------------------------------------------------

COLUMNS = ["description", "quantity", "unit_price", "amount"]
TABLE_FIELDS = [*FIELDS, "items"]


def _table(answer: str) -> tuple[list[dict[str, str]], object]:
    parsed = parse_answer(answer, TABLE_FIELDS, {"items": COLUMNS})
    return [{c: cell.value for c, cell in row.items()} for row in parsed.rows["items"]], parsed


def _row(**cells: str) -> dict[str, str]:
    return {c: cells.get(c, "") for c in COLUMNS}


@pytest.mark.parametrize(("answer", "rows"), [
    pytest.param('{"total": "9.00", "items": [{"description": "TEA", "quantity": "2", '
                 '"unit_price": "1.50", "amount": "3.00"}, {"description": "BUN", '
                 '"amount": 6.00}]}',
                 [_row(description="TEA", quantity="2", unit_price="1.50", amount="3.00"),
                  _row(description="BUN", amount="6.00")], id="objects, a bare number"),
    pytest.param('{"items": [["TEA", "2", "1.50", "3.00"]]}',
                 [_row(description="TEA", quantity="2", unit_price="1.50", amount="3.00")],
                 id="a row as a list, in column order"),
    pytest.param('{"items": [{"Description": "TEA", "Unit Price": "1.50", "tip": "x"}]}',
                 [_row(description="TEA", unit_price="1.50")],
                 id="keys matched loosely, unknown keys dropped"),
    pytest.param('{"items": [{"description": ""}, "TEA 3.00", 7, {"amount": "3.00"}]}',
                 [_row(amount="3.00")], id="what is not a row is dropped"),
    pytest.param('{"items": "TEA 3.00"}', [], id="not a list"),
    pytest.param('{"total": "9.00"}', [], id="no items key"),
    pytest.param('{"total": "9.00", "items": [{"description": "TEA", "amount": "3.00"}, '
                 '{"description": "BU', [_row(description="TEA", amount="3.00")],
                 id="cut off: the complete rows are kept"),
])
def test_table_rows(answer: str, rows: list[dict[str, str]]) -> None:
    assert _table(answer)[0] == rows


def test_a_table_field_has_no_text_value_and_its_span_is_the_whole_list() -> None:
    answer = '{"total": "9.00", "items": [{"description": "TEA", "amount": "3.00"}]}'
    _rows, parsed = _table(answer)
    assert parsed.values["items"] == ""
    start, end = parsed.spans["items"]
    assert answer[start:end] == '[{"description": "TEA", "amount": "3.00"}]'
    cell = parsed.rows["items"][0]["amount"]
    assert answer[cell.span[0]:cell.span[1]] == "3.00"
    assert parsed.rows["items"][0]["quantity"].span is None


def test_an_empty_list_still_has_a_span_for_its_confidence() -> None:
    answer = '{"total": "9.00", "items": []}'
    _rows, parsed = _table(answer)
    assert parsed.rows["items"] == []
    assert answer[slice(*parsed.spans["items"])] == "[]"


def test_a_cut_off_list_is_no_text_value() -> None:
    """A text field's value must be whole: a list cut off is dropped, not half-kept."""
    parsed = parse_answer('{"company": "ABC", "address": ["1 Jalan X", "Johor', FIELDS)
    assert parsed.values == values(company="ABC")
    assert parsed.truncated
