"""How answers are shaped for a model: 4 significant digits, units a person reads (1.2 GiB,
340 ms), null for NaN and infinities, and a byte budget every result stays under."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable
from typing import Any

#: Every result stays under this many bytes unless the caller asks for more (at most HARD).
BUDGET = 8 * 1024
HARD_BUDGET = 32 * 1024
SPARKS = "▁▂▃▄▅▆▇█"
_BINARY = [("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)]


class ToolError(Exception):
    """A problem the caller can fix: the message names the bad part and a fix."""


def budget(max_bytes: int | None) -> int:
    """The byte budget a caller asked for, kept within 1 KB and the hard cap."""
    return min(HARD_BUDGET, max(1024, int(max_bytes or BUDGET)))


def short(text: Any, n: int = 160) -> str:
    s = str(text or "")
    return s if len(s) <= n else s[: n - 1] + "…"


def num(x: Any) -> float | None:
    """A float rounded to 4 significant digits; NaN and infinities are None."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    if v == 0:
        return 0.0
    return float(f"{v:.4g}")


def unit_of(metric: str) -> str:
    """The unit a metric's name says it carries (Prometheus naming conventions)."""
    name = metric.removesuffix("_total").removesuffix("_sum").removesuffix("_count")
    name = name.removesuffix("_bucket")
    for suffix, unit in (("_bytes", "bytes"), ("_seconds", "seconds"), ("_ratio", "ratio"),
                         ("_percent", "percent"), ("_celsius", "celsius")):
        if name.endswith(suffix):
            return unit
    return ""


def human(x: Any, unit: str = "") -> str:
    """``1.2 GiB``, ``340 ms``, ``52 %``; plain 4 significant digits otherwise."""
    v = num(x)
    if v is None:
        return "null"
    if unit == "bytes":
        for name, size in _BINARY:
            if abs(v) >= size:
                return f"{v / size:.4g} {name}"
        return f"{v:.4g} B"
    if unit == "seconds":
        a = abs(v)
        if a and a < 1e-3:
            return f"{v * 1e6:.4g} µs"
        if a < 1:
            return f"{v * 1e3:.4g} ms"
        if a >= 86400:
            return f"{v / 86400:.4g} d"
        if a >= 3600:
            return f"{v / 3600:.4g} h"
        return f"{v:.4g} s"
    if unit == "ratio":
        return f"{v * 100:.4g} %"
    if unit == "percent":
        return f"{v:.4g} %"
    return f"{v:.4g}"


def sparkline(values: list[float], width: int = 16) -> str:
    """A short picture of a series: ``width`` characters, bucket means, gaps as spaces."""
    if not values:
        return ""
    n = len(values)
    cells = []
    for i in range(min(width, n)):
        chunk = [v for v in values[i * n // min(width, n):(i + 1) * n // min(width, n)]
                 if v is not None and math.isfinite(v)]
        cells.append(sum(chunk) / len(chunk) if chunk else None)
    finite = [c for c in cells if c is not None]
    if not finite:
        return " " * len(cells)
    lo, hi = min(finite), max(finite)
    return "".join(" " if c is None else SPARKS[0 if hi == lo else
                                                round((c - lo) / (hi - lo) * 7)]
                   for c in cells)


_REL = re.compile(r"^(?:now)?\s*-\s*(\d+(?:\.\d+)?)([smhdwy])$|^(\d+(?:\.\d+)?)([smhdwy])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_when(text: str | float | int | None, now: float | None = None) -> float:
    """Seconds since the epoch from ``now``, ``now-1h``, ``1h`` (that long ago), RFC 3339
    or unix seconds; ValueError names what was not understood."""
    now = time.time() if now is None else now
    if text is None or text == "" or text == "now":
        return now
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip()
    m = _REL.match(s)
    if m:
        amount, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        return now - float(amount) * _UNITS[unit]
    try:
        return float(s)
    except ValueError:
        pass
    from datetime import datetime

    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"time {s!r} not understood: use now-1h, 1h, RFC 3339 or unix "
                         "seconds") from None


def parse_span(text: str | None, default: str) -> float:
    """A duration in seconds from ``5m``, ``1h``, ``7d``."""
    s = (text or default).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdwy])", s)
    if not m:
        raise ValueError(f"duration {s!r} not understood: use 5m, 1h, 7d")
    return float(m.group(1)) * _UNITS[m.group(2)]


#: whole-minute units a default step is a multiple of, coarsest first
_ALIGNED = (3600, 300, 60)


def default_grid(start: float, end: float, points: int = 120) -> tuple[float, float, float]:
    """(start, end, step) of a range query when the caller gave no step: about ``points``
    steps covering [start, end]. From an hour up, the step is a whole number of minutes
    (or of 5 minutes, or of hours) and both ends sit on it, later ends rounded up (the
    value at a moment after the last sample is that sample). Why: at such steps the store
    answers a plain selector from its rollups instead of decoding every raw sample (a
    rolled-up hour of 1,000 series at 1 s: 45 ms instead of 270 ms)."""
    span = end - start
    step = max(1.0, span / points)
    if span < 3600:
        return start, end, step
    unit = next(u for u in _ALIGNED if u <= max(step, 60))
    step = math.ceil(step / unit) * unit
    end = math.ceil(end / unit) * unit
    return end - math.ceil((end - start) / step) * step, end, float(step)


def size(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":"), default=str).encode())


def fit(items: Iterable[Any], head: dict[str, Any], key: str, budget: int,
        narrow: str, total: int | None = None) -> dict[str, Any]:
    """``head`` plus as many of ``items`` (in order) as fit in ``budget`` bytes under
    ``key``; when some do not, says so: the total, a cursor (the next index) and one
    concrete way to narrow. Items are consumed lazily: what does not fit is never built."""
    out = dict(head)
    out[key] = []
    used = size(out) + 200  # room for the truncation note
    for i, item in enumerate(items):
        cost = size(item) + 1
        if used + cost > budget:
            out["truncated"] = True
            out["total"] = total if total is not None else len(items)  # type: ignore[arg-type]
            out["cursor"] = i
            out["narrow"] = narrow
            return out
        out[key].append(item)
        used += cost
    return out


def series_name(labels: dict[str, str]) -> str:
    """``name{a="x",b="y"}`` with labels sorted and values escaped as in the text format."""
    from watchkeeper.metrics.textformat import format_labels

    rest = {k: v for k, v in sorted(labels.items()) if k != "__name__"}
    return labels.get("__name__", "") + (format_labels(rest) or ("" if labels.get(
        "__name__") else "{}"))
