"""Line charts as inline SVG, drawn on the server: no script, no request, prints as drawn.

The dashboard draws its charts in the browser (uPlot on a canvas), which a report cannot
carry: a mail client runs no script and a PDF has no canvas. This is the one server-side
renderer; it keeps the dashboard's look (palette, unit formatting, grid) so a chart in a
report reads like the panel it summarises. A line holds at most one point per pixel
column (the column's mean), so a week at 15 s stays a few kilobytes.
"""

from __future__ import annotations

import itertools
import math
from xml.sax.saxutils import escape

from . import fmt
from .model import Chart, Line

WIDTH, HEIGHT = 720, 190
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 10, 24


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def y_range(lines: list[Line], unit: str) -> tuple[float, float]:
    """From zero (or the lowest value when negative) to a round value above the highest."""
    finite = [v for ln in lines for v in ln.values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(min(finite), 0.0), max(finite)
    if unit == "percent" and hi <= 100:
        hi = 100.0 if hi > 50 else hi
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    step = _nice_step(hi - lo)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def _columns(times: list[float], values: list[float], t0: float, t1: float,
             width: int) -> list[tuple[float, float]]:
    """(x, mean value) per pixel column that has finite points; a NaN marks a gap."""
    if t1 <= t0:
        t1 = t0 + 1
    sums: dict[int, list[float]] = {}
    for t, v in zip(times, values, strict=True):
        if t < t0 or t > t1:
            continue
        col = min(width - 1, int((t - t0) / (t1 - t0) * width))
        acc = sums.setdefault(col, [0.0, 0.0])
        if math.isfinite(v):
            acc[0] += v
            acc[1] += 1
    return [(col, acc[0] / acc[1] if acc[1] else math.nan)
            for col, acc in sorted(sums.items())]


def _path(points: list[tuple[float, float]], lo: float, hi: float, plot_h: float) -> str:
    out, pen_down, prev_col = [], False, None
    gaps = sorted(b[0] - a[0] for a, b in itertools.pairwise(points))
    spacing = gaps[len(gaps) // 2] if gaps else 1
    for col, v in points:
        if not math.isfinite(v) or (prev_col is not None and col - prev_col > 2.5 * spacing):
            pen_down = False  # a gap in the data stays a gap in the line
        if math.isfinite(v):
            x = LEFT + col
            y = TOP + plot_h - (v - lo) / (hi - lo) * plot_h
            out.append(f"{'L' if pen_down else 'M'}{x:.0f} {y:.1f}")
            pen_down = True
        prev_col = col
    return "".join(out)


def _time_ticks(t0: float, t1: float) -> list[float]:
    span = t1 - t0
    for step in (3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400,
                 14 * 86400, 30 * 86400):
        if span / step <= 8:
            break
    first = math.ceil(t0 / step) * step
    return [first + i * step for i in range(int((t1 - first) // step) + 1)]


def line_chart(chart: Chart, t0: float, t1: float) -> str:
    """``chart`` between ``t0`` and ``t1`` (unix seconds) as an ``<svg>`` element."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    lo, hi = y_range(chart.lines, chart.unit)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
             f'height="{HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(chart.title)}</title>",
             '<g class="grid" stroke="#e5e7eb" stroke-width="1">']
    step = _nice_step(hi - lo)
    ticks = [lo + i * step for i in range(round((hi - lo) / step) + 1)]
    labels = []
    for v in ticks:
        y = TOP + plot_h - (v - lo) / (hi - lo) * plot_h
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
        labels.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                      f"{escape(fmt.value(v, chart.unit))}</text>")
    with_date = t1 - t0 > 86400
    for t in _time_ticks(t0, t1):
        x = LEFT + (t - t0) / (t1 - t0) * plot_w
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>')
        text = fmt.when(t)[5:10] if with_date and t % 86400 == 0 else fmt.when(t, False)
        labels.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
                      f"{escape(text)}</text>")
    parts.append("</g>")
    parts.append(f'<g class="axis" fill="#6b7280" font-size="11" '
                 f'font-family="system-ui, sans-serif">{"".join(labels)}</g>')
    for i, line in enumerate(chart.lines):
        color = line.color or fmt.PALETTE[i % len(fmt.PALETTE)]
        d = _path(_columns(line.times, line.values, t0, t1, plot_w), lo, hi, plot_h)
        if not d:
            continue
        dash = ' stroke-dasharray="5 4" stroke-opacity="0.7"' if line.dashed else ""
        parts.append(f'<path class="line" d="{d}" fill="none" stroke="{color}" '
                     f'stroke-width="1.6" stroke-linejoin="round"{dash}>'
                     f"<title>{escape(line.name)}</title></path>")
    parts.append("</svg>")
    return "".join(parts)


def colors(chart: Chart) -> list[str]:
    """Each line's colour, as ``line_chart`` draws it (for a legend beside the chart)."""
    return [ln.color or fmt.PALETTE[i % len(fmt.PALETTE)] for i, ln in enumerate(chart.lines)]
