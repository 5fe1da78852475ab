"""Small SVG charts drawn on the server: the dashboard's bars and the reliability diagram.

Inline SVG needs no script (the pages' Content-Security-Policy allows none inline) and no
plotting library in the web image. Every number is formatted here and every label escaped, so
a chart carries no markup from data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 220, 36


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str  # a CSS class: the colours live in style.css


def _frame(title: str, width: int, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + "".join(body) + "</svg>")


def bars(title: str, labels: Sequence[str], series: Sequence[Series], *,
         y_max: float | None = None, y_unit: str = "", stacked: bool = True,
         every: int = 1) -> Markup:
    """Bars per label, one colour per series (stacked, or side by side); the y axis from 0."""
    n = max(len(labels), 1)
    totals = [sum(s.values[i] for s in series) if stacked else
              max((s.values[i] for s in series), default=0) for i in range(len(labels))]
    top = y_max or max([*totals, 1e-9])
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    slot = plot_w / n
    body = [f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" '
            f'y2="{HEIGHT - PAD}"/>',
            f'<text class="tick" x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">'
            f'{top:.3g}{escape(y_unit)}</text>',
            f'<text class="tick" x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end">0</text>']
    for i, label in enumerate(labels):
        base = HEIGHT - PAD
        width = slot * 0.8 / (1 if stacked else max(len(series), 1))
        for k, s in enumerate(series):
            h = plot_h * (s.values[i] / top) if top else 0
            x = PAD + i * slot + slot * 0.1 + (0 if stacked else k * width)
            y = base - h
            body.append(f'<rect class="{escape(s.color)}" x="{x:.1f}" y="{y:.1f}" '
                        f'width="{width:.1f}" height="{h:.1f}"><title>{escape(label)}: '
                        f'{escape(s.name)} {s.values[i]:.4g}{escape(y_unit)}</title></rect>')
            if stacked:
                base = y
        if i % every == 0:
            body.append(f'<text class="tick" x="{PAD + (i + 0.5) * slot:.1f}" '
                        f'y="{HEIGHT - PAD + 14}" text-anchor="middle">{escape(label)}</text>')
    legend_x = PAD
    for s in series:
        body.append(f'<rect class="{escape(s.color)}" x="{legend_x}" y="8" width="10" '
                    f'height="10"/><text class="tick" x="{legend_x + 14}" y="17">'
                    f'{escape(s.name)}</text>')
        legend_x += 14 + 8 * len(s.name) + 16
    return _frame(title, WIDTH, HEIGHT, body)


def reliability(title: str, points: Sequence[dict[str, float]], size: int = 220) -> Markup:
    """The reliability diagram: share right against calibrated confidence per bin, the
    diagonal where they agree; a point's area grows with its count."""
    plot = size - 2 * PAD

    def xy(conf: float, acc: float) -> tuple[float, float]:
        return PAD + conf * plot, size - PAD - acc * plot

    body = [f'<rect class="plot-area" x="{PAD}" y="{PAD}" width="{plot}" height="{plot}"/>',
            f'<line class="diagonal" x1="{PAD}" y1="{size - PAD}" x2="{size - PAD}" '
            f'y2="{PAD}"/>',
            f'<text class="tick" x="{size / 2}" y="{size - 6}" text-anchor="middle">'
            'calibrated confidence</text>',
            f'<text class="tick" x="10" y="{size / 2}" transform="rotate(-90 10 {size / 2})" '
            'text-anchor="middle">share right</text>']
    for v in (0.0, 0.5, 1.0):
        x, y = xy(v, v)
        body.append(f'<text class="tick" x="{x:.1f}" y="{size - PAD + 11}" '
                    f'text-anchor="middle">{v:g}</text>')
        body.append(f'<text class="tick" x="{PAD - 3}" y="{y + 3:.1f}" '
                    f'text-anchor="end">{v:g}</text>')
    total = sum(p["count"] for p in points) or 1
    for p in points:
        x, y = xy(float(p["confidence"]), float(p["accuracy"]))
        r = 2.5 + 9 * (p["count"] / total) ** 0.5
        body.append(f'<circle class="bin" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"><title>'
                    f'confidence {p["confidence"]:.3f}: {p["accuracy"]:.3f} right of '
                    f'{int(p["count"])}</title></circle>')
    return _frame(title, size, size, body)
