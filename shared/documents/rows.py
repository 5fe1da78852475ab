"""Grouping text lines into printed rows, the unit the OCR engine's field rules reason about
(and the validation rules, reading the taxes printed on a row: ``shared/values/taxes.py``).

rapidocr splits one printed row into several boxes wherever there is a gap ("Date:" and
"25/12/2018 8:13:39 PM", "TOTAL" and "9.00"), and its order is only roughly top to bottom. The
rules need "what is on this row, left to right" and "what is on the next row", so lines are
regrouped by vertical overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from shared.documents.lines import Box, TextLine

# Two boxes are on one row when they overlap vertically by this share of the shorter one.
ROW_OVERLAP = 0.5


def union_box(boxes: list[Box]) -> Box | None:
    """The smallest box holding all of ``boxes`` (the box of a multi-line value)."""
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


@dataclass(frozen=True)
class Row:
    """The OCR lines printed on one row, left to right."""

    lines: tuple[TextLine, ...]
    index: int  # position of the row on the receipt, 0 at the top

    @property
    def text(self) -> str:
        return " ".join(line.text.strip() for line in self.lines)

    @property
    def box(self) -> Box:
        box = union_box([line.box for line in self.lines])
        assert box is not None  # a row always has at least one line
        return box

    @property
    def score(self) -> float:
        return min(line.score for line in self.lines)

    @property
    def height(self) -> float:
        return median(line.height for line in self.lines)


def _overlap(a: TextLine, y0: float, y1: float) -> float:
    """Vertical overlap of ``a`` with the span y0..y1, as a share of the shorter of the two."""
    inter = min(a.y1, y1) - max(a.y0, y0)
    shorter = max(1.0, min(a.height, y1 - y0))
    return inter / shorter


def group_rows(lines: Sequence[TextLine]) -> list[Row]:
    """Lines grouped into rows, top to bottom; each row's lines sorted left to right. A blank
    line (a speck read as spaces) is in no row.

    A line joins the row whose last-added line it overlaps most (tilted receipts drift, so the
    comparison is with the neighbour, not with the row's first line).
    """
    groups: list[list[TextLine]] = []
    for line in sorted((ln for ln in lines if ln.text.strip()), key=lambda ln: ln.y_center):
        best, best_overlap = None, ROW_OVERLAP
        for group in groups[-3:]:
            # Compare with the group's line nearest in x: on a tilted receipt that is the one
            # whose height is most comparable.
            neighbour = min(group, key=lambda g: abs(g.x0 - line.x0))
            overlap = _overlap(line, neighbour.y0, neighbour.y1)
            if overlap > best_overlap and not any(_h_overlap(line, g) for g in group):
                best, best_overlap = group, overlap
        if best is None:
            groups.append([line])
        else:
            best.append(line)
    return [
        Row(lines=tuple(sorted(group, key=lambda ln: ln.x0)), index=i)
        for i, group in enumerate(groups)
    ]


def _h_overlap(a: TextLine, b: TextLine) -> bool:
    """Whether two boxes share much horizontal extent (then they are on different rows)."""
    inter = min(a.x1, b.x1) - max(a.x0, b.x0)
    return inter > 0.5 * min(a.x1 - a.x0, b.x1 - b.x0)


def row_of(rows: list[Row], box: Box | None) -> int | None:
    """The index of the row holding the line with ``box`` (None without a box)."""
    if box is None:
        return None
    return next((r.index for r in rows if any(line.box == box for line in r.lines)), None)
