"""A line of text with its box on a page: read by OCR, or taken from a PDF's text layer. The unit
the field rules, the review page and the trainer work on."""

from __future__ import annotations

from dataclasses import dataclass

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the page image's pixels


@dataclass(frozen=True)
class TextLine:
    text: str
    box: Box  # x0, y0, x1, y1: the axis-aligned hull of the detected quadrilateral
    score: float = 1.0  # recognizer confidence, 0-1 (1 for a text layer)

    @property
    def x0(self) -> float:
        return self.box[0]

    @property
    def y0(self) -> float:
        return self.box[1]

    @property
    def x1(self) -> float:
        return self.box[2]

    @property
    def y1(self) -> float:
        return self.box[3]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def y_center(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    def to_json(self) -> dict[str, object]:
        """The stored form (extraction raw output, receipt text lines)."""
        return {"text": self.text, "box": list(self.box), "score": round(self.score, 3)}

    @classmethod
    def from_json(cls, raw: dict) -> TextLine:
        box = raw["box"]
        return cls(text=raw["text"], box=(box[0], box[1], box[2], box[3]),
                   score=float(raw.get("score", 1.0)))

    @classmethod
    def from_quad(cls, quad: list[list[float]], text: str, score: float) -> TextLine:
        xs = [float(p[0]) for p in quad]
        ys = [float(p[1]) for p in quad]
        return cls(text=text, box=(min(xs), min(ys), max(xs), max(ys)), score=float(score))
