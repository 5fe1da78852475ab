"""A document's pages as one tall page, and back.

The OCR engine's field rules read a receipt top to bottom (the company at the top, the total near
the end), and a receipt cut over two pages reads the same once its pages are put one under the
other. So the rules see the pages' lines stacked, and each value's box is mapped back to the page
it was printed on. Image engines get the page images stacked the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from shared.documents.lines import Box, TextLine

GAP = 32  # pixels between stacked pages: rows of two pages never merge


@dataclass(frozen=True)
class Stack:
    lines: list[TextLine]  # every page's lines, in the stacked page's pixels
    tops: list[float]  # where each page starts in the stacked page

    def locate(self, box: Box) -> tuple[int, Box]:
        """The page (1-based) a stacked box lies on, and the box in that page's pixels."""
        middle = (box[1] + box[3]) / 2
        index = max(i for i, top in enumerate(self.tops) if top <= middle or i == 0)
        top = self.tops[index]
        return index + 1, (box[0], box[1] - top, box[2], box[3] - top)


def stack_lines(pages: Sequence[tuple[Sequence[TextLine], float]]) -> Stack:
    """``pages``: each page's lines and height, in order."""
    lines: list[TextLine] = []
    tops: list[float] = []
    top = 0.0
    for page_lines, height in pages:
        tops.append(top)
        lines.extend(TextLine(ln.text, (ln.x0, ln.y0 + top, ln.x1, ln.y1 + top), ln.score)
                     for ln in page_lines)
        top += height + GAP
    return Stack(lines, tops)


def stack_images(images: Sequence[Image.Image]) -> Image.Image:
    """The pages one under the other on white, each scaled to the widest page's width."""
    if len(images) == 1:
        return images[0]
    width = max(im.width for im in images)
    scaled = [im if im.width == width else
              im.resize((width, max(1, round(im.height * width / im.width))), Image.LANCZOS)
              for im in images]
    out = Image.new("RGB", (width, sum(im.height for im in scaled) + GAP * (len(scaled) - 1)),
                    "white")
    y = 0
    for im in scaled:
        out.paste(im, (0, y))
        y += im.height + GAP
    return out
