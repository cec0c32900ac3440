"""Small Unicode charts of range-query series for a terminal: people would rather look
than read a column of numbers. One block of rows per series, eighth-blocks for resolution,
with the series' legend and its min, max and last value."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
_TEMPLATE = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def legend(metric: dict[str, str], template: str | None = None) -> str:
    """``{{label}}`` placeholders filled from the series (Grafana's and Prometheus's legend
    format); without a template, the series as PromQL writes it."""
    if template:
        return _TEMPLATE.sub(lambda m: metric.get(m.group(1), ""), template)
    name = metric.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def resample(values: Sequence[float], width: int) -> list[float]:
    """``width`` columns, each the mean of the finite points falling in it (NaN if none)."""
    n = len(values)
    if n <= width:
        return list(values)
    out = []
    for col in range(width):
        part = [v for v in values[col * n // width:(col + 1) * n // width] if math.isfinite(v)]
        out.append(sum(part) / len(part) if part else math.nan)
    return out


def number(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
        return f"{v:.3g}"
    return f"{v:,.3f}".rstrip("0").rstrip(".")


def chart(values: Sequence[float], width: int = 60, height: int = 4) -> list[str]:
    """``height`` lines of ``width`` (or fewer) columns, the top line first; the lowest
    finite value still shows as a thin bar so a flat series is visible."""
    cols = resample(values, width)
    finite = [v for v in cols if math.isfinite(v)]
    if not finite:
        return [""] * height
    low, high = min(finite), max(finite)
    span = high - low
    levels = height * 8
    heights = [-1 if not math.isfinite(v) else
               (1 if span == 0 else 1 + round((v - low) / span * (levels - 1))) for v in cols]
    rows = []
    for row in range(height - 1, -1, -1):
        line = []
        for h in heights:
            fill = min(8, max(0, h - row * 8))
            line.append(BLOCKS[fill - 1] if fill else " ")
        rows.append("".join(line))
    return rows


def series_block(metric: dict[str, str], values: Sequence[float], *, template: str | None = None,
                 width: int = 60, height: int = 4) -> list[str]:
    """The legend, the chart with its top and bottom value on the left, then min/max/last."""
    finite = [v for v in values if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (math.nan, math.nan)
    last = values[-1] if values else math.nan
    rows = chart(values, width, height)
    top, bottom = number(high), number(low)
    pad = max(len(top), len(bottom))
    lines = [legend(metric, template)]
    for i, row in enumerate(rows):
        label = top if i == 0 else bottom if i == len(rows) - 1 else ""
        lines.append(f"{label:>{pad}} ┤{row}")
    lines.append(f"{'':>{pad}}  min {number(low)}  max {number(high)}  last {number(last)}")
    return lines
