"""Numbers with units as the dashboard spells them (Grafana's unit names), and series
names as its legends write them, so a report reads the same as the page it summarises."""

from __future__ import annotations

import datetime as dt
import math
import re

#: The dashboard's series colours, in order.
PALETTE = ("#3b82f6", "#22c55e", "#f59e0b", "#ef4444", "#a855f7", "#14b8a6", "#ec4899",
           "#84cc16")
_SI = ("", "k", "M", "G", "T", "P")
_BIN = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
#: What an unknown number shows as (an en dash).
DASH = "\u2013"
_TEMPLATE = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def _scaled(v: float, base: float, names: tuple[str, ...], suffix: str = "") -> str:
    i, x = 0, abs(v)
    while x >= base and i < len(names) - 1:
        x /= base
        i += 1
    digits = 0 if x >= 100 else 1 if x >= 10 else 2
    unit = f"{names[i]}{suffix}".strip()
    return f"{'-' if v < 0 else ''}{x:.{digits}f}" + (f" {unit}" if unit else "")


def value(v: float | None, unit: str = "") -> str:
    """One number for a person: ``99.2%``, ``340 ms``, ``1.20 GiB``, ``12.0 req/s``."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return DASH
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if unit == "percent":
        return f"{v:.1f}%" if abs(v) < 99.95 or v >= 100 else f"{v:.2f}%"
    if unit == "percentunit":
        return value(v * 100, "percent")
    if unit == "bytes":
        return _scaled(v, 1024, _BIN)
    if unit == "Bps":
        return _scaled(v, 1024, _BIN) + "/s"
    if unit == "seconds":
        if v == 0:
            return "0 s"
        if abs(v) < 1:
            return f"{v * 1000:.{2 if abs(v) < 0.01 else 0}f} ms"
        return duration(v) if abs(v) >= 120 else f"{v:.2f} s"
    if unit == "reqps":
        return _scaled(v, 1000, _SI, " req/s")
    if unit == "ops":
        return _scaled(v, 1000, _SI, " ops/s")
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "points":  # percentage points
        return f"{'+' if v > 0 else ''}{v:.2f} pp"
    if unit == "change":
        return f"{'+' if v > 0 else ''}{v:.1f}%"
    return _scaled(v, 1000, _SI) if abs(v) >= 1000 else f"{float(f'{v:.4g}'):g}"


def duration(seconds: float | None) -> str:
    """``3d 4h``, ``2h 5m``, ``7m 12s``: the two largest units."""
    if seconds is None or not math.isfinite(seconds):
        return DASH
    s = round(abs(seconds))
    parts = []
    for name, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size or (name == "s" and not parts):
            parts.append(f"{s // size}{name}")
            s %= size
        if len(parts) == 2:
            break
    return ("-" if seconds < 0 else "") + " ".join(parts)


def when(seconds: float, with_date: bool = True) -> str:
    """A moment in UTC, as the report's header states it."""
    fmt = "%Y-%m-%d %H:%M" if with_date else "%H:%M"
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime(fmt)


def series_name(labels: dict[str, str], template: str = "") -> str:
    """The legend: a template's ``{{label}}`` filled in, else the series as PromQL writes
    it."""
    if template:
        text = _TEMPLATE.sub(lambda m: labels.get(m.group(1), ""), template)
        if text.strip():
            return text
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    if rest:
        return f"{name}{{{rest}}}"
    return name or "{}"
