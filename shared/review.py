"""What reviewers need: the queue order, and where on the image each value was read.

A receipt is reviewed once it has a correction (saving unchanged values records an acceptance).
The queue puts the least certain receipts first: a receipt is as certain as its weakest field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from itertools import pairwise

from rapidfuzz import fuzz
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from shared.acceptance import AUTO
from shared.db.models import Correction, Extraction, Receipt, ReceiptStatus
from shared.documents.layout import stack_lines
from shared.documents.lines import TextLine

# A value matched this well against an OCR line is taken to be printed there.
FOUND_AT = 80.0


def confidence_of(extraction: Extraction | None, field: str | None = None) -> float:
    if extraction is None or not extraction.fields:
        return 0.0
    values = extraction.fields.values() if field is None else [extraction.fields.get(field, {})]
    return min((float(v.get("confidence", 0.0)) for v in values), default=0.0)


def review_queue(session: Session, *, batch_id: int | None = None, status: str | None = None,
                 field: str | None = None, reason: str | None = None,
                 limit: int = 200) -> list[Receipt]:
    """Unreviewed receipts: those a validation rule flags first (their stored review
    reasons), then least confident first (by ``field`` alone when given); only those
    ``reason`` flags, when given."""
    query = (
        select(Receipt)
        .where(~Receipt.id.in_(select(Correction.receipt_id)))
        # Accepted without review (shared/acceptance.py); audit samples stay in the queue.
        .where(or_(Receipt.acceptance.is_(None), Receipt.acceptance != AUTO))
        .options(selectinload(Receipt.extractions), selectinload(Receipt.batch))
    )
    query = query.where(Receipt.status == (ReceiptStatus(status) if status else
                                           ReceiptStatus.DONE))
    if batch_id is not None:
        query = query.where(Receipt.batch_id == batch_id)
    receipts = list(session.scalars(query.order_by(Receipt.id).limit(5000)))
    if reason is not None:
        receipts = [r for r in receipts if reason in rules_failed(r)]
    receipts.sort(key=lambda r: (not r.review_reasons,
                                 confidence_of(r.latest_extraction, field), r.id))
    return receipts[:limit]


def rules_failed(receipt: Receipt) -> set[str]:
    return {reason.get("rule", "") for reason in receipt.review_reasons or []}


@dataclass(frozen=True)
class Location:
    box: list[float] | None
    score: float  # how well the value matched the text there (0-100)
    source: str  # "engine" (the engine gave the box) or "ocr" (found by fuzzy matching)
    page: int = 1  # the page the box is on

    @property
    def found(self) -> bool:
        return self.box is not None and self.score >= FOUND_AT


def page_lines(receipt: Receipt) -> dict[int, list[dict]]:
    """Each page's text lines with boxes: its text layer or what OCR read of it (the OCR
    engine, or ``worker/read_text.py`` for engines without boxes)."""
    lines = {p.number: list(p.lines) for p in receipt.pages if p.lines}
    if not lines and len(receipt.pages) <= 1:
        # Extracted before lines were kept on pages: the OCR engine's raw output has them.
        for extraction in reversed(receipt.extractions):
            if extraction.engine == "ocr" and extraction.raw_output:
                try:
                    return {1: [ln for ln in json.loads(extraction.raw_output) if "box" in ln]}
                except ValueError:
                    continue
    return lines


def stacked_lines(receipt: Receipt) -> list[dict]:
    """All pages' lines one page under the other, as the OCR engine's rules read them."""
    by_page = page_lines(receipt)
    heights = {p.number: p.height for p in receipt.pages} or {1: 0}
    stack = stack_lines([([TextLine.from_json(ln) for ln in by_page.get(n, [])], heights[n])
                         for n in sorted(heights)])
    return [ln.to_json() for ln in stack.lines]


def locate(value: str, lines: list[dict]) -> Location:
    """The line that best matches ``value``, or two adjacent lines for a value that wraps
    (preferred only when the pair matches strictly better than any single line)."""
    if not value.strip() or not lines:
        return Location(None, 0.0, "ocr")
    target = value.upper()

    def score(text: str) -> float:
        text = text.upper()
        # A short value printed inside a longer line ("9.00" in "TOTAL: 9.00") matches fully;
        # a line that is only part of the value does not.
        partial = fuzz.partial_ratio(target, text) if 4 <= len(target) <= len(text) else 0.0
        return max(fuzz.ratio(target, text), partial)

    singles = [([ln], score(ln["text"])) for ln in lines]
    pairs = [([a, b], score(f"{a['text']} {b['text']}")) for a, b in pairwise(lines)]
    used, best = max(singles, key=lambda c: c[1])
    pair, pair_score = max(pairs, key=lambda c: c[1], default=([], 0.0))
    if pair_score > best:
        used, best = pair, pair_score
    boxes = [u["box"] for u in used]
    box = [min(b[0] for b in boxes), min(b[1] for b in boxes),
           max(b[2] for b in boxes), max(b[3] for b in boxes)]
    return Location(box, float(best), "ocr")


def field_locations(receipt: Receipt, values: dict[str, str]) -> dict[str, Location]:
    """Where each value is: the engine's box (and page) if it gave one, else the best fuzzy
    match over every page's lines."""
    extraction = receipt.latest_extraction
    pages = page_lines(receipt)
    out = {}
    for name, value in values.items():
        given = (extraction.fields.get(name) or {}) if extraction else {}
        if given.get("box") and given.get("value") == value:
            out[name] = Location(given["box"], 100.0, "engine", given.get("page") or 1)
            continue
        found = [replace(locate(value, lines), page=n) for n, lines in sorted(pages.items())]
        out[name] = max(found, key=lambda loc: loc.score, default=Location(None, 0.0, "ocr"))
    return out


def reviewed_receipts(session: Session, receipt_ids: list[int] | None = None) -> list[Receipt]:
    """Receipts a reviewer has corrected or accepted: the training and export set."""
    query = (select(Receipt).where(Receipt.id.in_(select(Correction.receipt_id)))
             .options(selectinload(Receipt.extractions), selectinload(Receipt.corrections),
                      selectinload(Receipt.batch), selectinload(Receipt.pages))
             .order_by(Receipt.id))
    if receipt_ids:
        query = query.where(Receipt.id.in_(list(receipt_ids)))
    return list(session.scalars(query))
