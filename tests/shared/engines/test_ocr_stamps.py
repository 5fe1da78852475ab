"""A bookkeeper's stamp goes from OCR's lines; what the till printed stays."""

from __future__ import annotations

import pytest

from shared.documents.lines import TextLine
from shared.engines.ocr.stamps import without_stamps


def _line(text: str) -> TextLine:
    return TextLine(text=text, box=(0.0, 0.0, 100.0, 20.0), score=0.99)


@pytest.mark.parametrize("stamp", ["POSTED", "POSTED·O", "- Posted -"])
def test_the_stamp_goes(stamp: str) -> None:
    assert without_stamps([_line(stamp), _line("YONG CEN ENTERPRISE")]) == [
        _line("YONG CEN ENTERPRISE")]


@pytest.mark.parametrize("printed", ["APPROVED", "Paid:", "Tax InvoicPOSTED", "POSTED 12.00",
                                     "POSTED ON 12/03"])
def test_what_the_till_printed_stays(printed: str) -> None:
    assert without_stamps([_line(printed)]) == [_line(printed)]
