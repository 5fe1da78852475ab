"""Rubber stamps put on a receipt after it was printed, dropped from OCR's lines.

A bookkeeper stamps a receipt "POSTED" once it is entered in the books (six SROIE scans carry
one, across the header). OCR reads the stamp as a line of its own, and where it crosses the
seller's name it joins that row ("YONG CEN ENTERPRISE POSTED"). Only a line that is the stamp
and nothing else goes, with the specks around it ("POSTED·O"); a word the till printed
("APPROVED", "PAID") stays, and so does a stamp OCR glued to printed text ("Tax InvoicPOSTED").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from shared.documents.lines import TextLine

STAMP_RE = re.compile(r"^\W*POSTED\W*[^\W\d_]?\W*$", re.IGNORECASE)


def without_stamps(lines: Sequence[TextLine]) -> list[TextLine]:
    return [ln for ln in lines if not STAMP_RE.match(ln.text)]
