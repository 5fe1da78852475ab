"""Pages as phones make them: turned 90, 180 or 270 degrees, a little tilted, or tiny.

One OCR pass tells how the page lies: lines taller than wide mean it is on its side, and
rapidocr's direction classifier (which turns each line crop the right way up before
recognition) votes on whether it is upside down. A turned page is turned upright and read again
(the votes are right about the page, not about every line); an upright page costs nothing more.
Where the votes are a coin toss (faint print), the second reading tells: turned "upright", the
page reads upside down to the classifier as well, so the other half-turn is the right one.
A small tilt is straightened by mapping the read lines' corners: their text was read along their
own slope already. A page whose long side is under ``SMALL_SIDE`` pixels is enlarged before OCR,
its lines scaled back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from PIL import Image

from shared.documents.lines import TextLine
from shared.engines.ocr.reader import LineReader, PageText

SMALL_SIDE = 1000  # long side, pixels: below it the page is enlarged for OCR
UPSCALE_TO = 1600
MIN_LINES = 3  # fewer lines than this say nothing about the page's orientation
FLIPPED_SHARE = 0.5  # more of a page's lines voted upside down than this: so is the page
MIN_TILT, MAX_TILT = 1.0, 15.0  # degrees: straightened between these

Point = tuple[float, float]


@dataclass
class Reading:
    lines: list[TextLine]  # in ``image``'s pixels
    image: Image.Image  # the page upright (the input itself when nothing was turned)
    transforms: list[dict[str, Any]] = field(default_factory=list)

    @property
    def turned(self) -> bool:
        return any(t["op"] in ("rotate", "deskew") for t in self.transforms)


def read_upright(reader: LineReader, image: Image.Image) -> Reading:
    transforms: list[dict[str, Any]] = []
    page = _read(reader, image, transforms)
    upright = image
    degrees = _orientation(page)
    if degrees:
        # Read once more the right way up: the classifier's votes decide the page, but the few
        # lines it got wrong would otherwise stay upside down.
        turned_image = image.rotate(degrees, expand=True)
        turned = _read(reader, turned_image, [])
        if turned.flipped > FLIPPED_SHARE:
            # Turned so, most lines read upside down to the classifier as well: its first
            # votes were a coin toss (faint print), and the other half-turn is the right one:
            # none for a page it found upside down, the other side for one on its side.
            degrees = (degrees + 180) % 360
            if degrees:
                turned_image = image.rotate(degrees, expand=True)
                turned = _read(reader, turned_image, [])
        if degrees:
            upright, page = turned_image, turned
            transforms.append({"op": "rotate", "degrees": degrees,
                               "why": "text lines read sideways or upside down"})
    quads = page.quads
    tilt = _tilt(quads)
    if tilt is not None:
        # Turn by the tilt about the centre (PIL's positive angle is counter-clockwise, and a
        # line rising to the right has a negative angle in image coordinates); the lines' text
        # was read from crops along their own slope, so only their boxes move.
        straight = upright.rotate(tilt, expand=True, fillcolor="white",
                                  resample=Image.BICUBIC)
        quads = [[_tilt_point(p, tilt, upright.size, straight.size) for p in q] for q in quads]
        upright = straight
        transforms.append({"op": "deskew", "degrees": round(tilt, 2)})
    lines = [TextLine.from_quad(q, t, s) for q, t, s in zip(quads, page.texts, page.scores,
                                                           strict=True)]
    return Reading(lines, upright, transforms)


def _read(reader: LineReader, image: Image.Image, transforms: list[dict[str, Any]]) -> PageText:
    """OCR of the page, enlarged first when it is small (its lines scaled back)."""
    if max(image.size) >= SMALL_SIDE:
        return reader.read_page(image)
    scale = UPSCALE_TO / max(image.size)
    page = reader.read_page(image.resize((round(image.width * scale),
                                          round(image.height * scale)), Image.LANCZOS))
    page.quads = [[[x / scale, y / scale] for x, y in q] for q in page.quads]
    transforms.append({"op": "upscale_for_ocr", "factor": round(scale, 3)})
    return page


def _orientation(page: PageText) -> int:
    """Counter-clockwise degrees that turn the page upright: 0, 90, 180 or 270."""
    if len(page.quads) < MIN_LINES:
        return 0
    sideways = sum(_height(q) > _width(q) for q in page.quads) / len(page.quads) > 0.5
    flipped = page.flipped > FLIPPED_SHARE
    if sideways:
        # On its side: the crops were turned by a quarter one way; the classifier's votes say
        # whether that left them upside down, i.e. which side the page lies on.
        return 270 if flipped else 90
    return 180 if flipped else 0


def _width(q: list[list[float]]) -> float:
    return max(p[0] for p in q) - min(p[0] for p in q)


def _height(q: list[list[float]]) -> float:
    return max(p[1] for p in q) - min(p[1] for p in q)


def _rotate_point(p: list[float], degrees: int, size: tuple[int, int]) -> list[float]:
    """A point of the page turned by PIL's ``rotate(degrees, expand=True)``."""
    (x, y), (w, h) = p, size
    if degrees == 90:
        return [y, w - x]
    if degrees == 180:
        return [w - x, h - y]
    return [h - y, x]  # 270


def _tilt(quads: list[list[list[float]]]) -> float | None:
    """The median slope of the lines' long edges in degrees, when it is worth straightening."""
    angles = []
    for q in quads:
        edges = [(q[1][0] - q[0][0], q[1][1] - q[0][1]), (q[2][0] - q[1][0], q[2][1] - q[1][1])]
        (dx, dy), (sx, sy) = sorted(edges, key=lambda e: -math.hypot(*e))
        if math.hypot(dx, dy) < 2 * math.hypot(sx, sy):
            continue  # too short a line to give its slope
        angle = math.degrees(math.atan2(dy, dx))
        angles.append((angle + 90) % 180 - 90)  # the edge either way round: within [-90, 90)
    if len(angles) < MIN_LINES:
        return None
    angle = median(angles)
    return angle if MIN_TILT <= abs(angle) <= MAX_TILT else None


def _tilt_point(p: list[float], degrees: float, before: tuple[int, int],
                after: tuple[int, int]) -> list[float]:
    """A point of the image turned by PIL's ``rotate(degrees, expand=True)`` about its
    centre (counter-clockwise on screen, where y grows downwards)."""
    a = math.radians(degrees)
    cx, cy = before[0] / 2, before[1] / 2
    dx, dy = p[0] - cx, p[1] - cy
    return [dx * math.cos(a) + dy * math.sin(a) + after[0] / 2,
            -dx * math.sin(a) + dy * math.cos(a) + after[1] / 2]
