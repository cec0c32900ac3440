"""Prometheus durations (``1h30m``) and API timestamps (RFC 3339 or unix seconds)."""

from __future__ import annotations

import math
import re
from datetime import datetime

from watchkeeper.promql.errors import PromQLBadArgument

UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
           "w": 7 * 86_400_000, "y": 365 * 86_400_000}
_ORDER = ["y", "w", "d", "h", "m", "s", "ms"]
DURATION_RE = re.compile(r"(?:[0-9]+(?:ms|[smhdwy]))+")
_PART = re.compile(r"([0-9]+)(ms|[smhdwy])")


def parse_duration(text: str) -> int:
    """Milliseconds of a duration such as ``5m`` or ``1h30m``; units must descend."""
    if not DURATION_RE.fullmatch(text):
        raise ValueError(f"not a valid duration string: {text!r}")
    total, last = 0, -1
    for num, unit in _PART.findall(text):
        rank = _ORDER.index(unit)
        if rank <= last:
            raise ValueError(f"not a valid duration string: {text!r}")
        last = rank
        total += int(num) * UNIT_MS[unit]
    return total


def format_duration(ms: int) -> str:
    """The canonical Prometheus spelling of a duration (``90m`` becomes ``1h30m``)."""
    if ms == 0:
        return "0s"
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    out = []
    for unit in _ORDER:
        size = UNIT_MS[unit]
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return sign + "".join(out)


def parse_time(text: str) -> int:
    """Milliseconds from an API time parameter: unix seconds (float) or RFC 3339."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is not None:
        if not math.isfinite(value):
            raise PromQLBadArgument(f"cannot parse {text!r} to a valid timestamp")
        return round(value * 1000)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PromQLBadArgument(f"cannot parse {text!r} to a valid timestamp") from None
    return round(dt.timestamp() * 1000)


def parse_step(text: str) -> int:
    """Milliseconds from a step or timeout parameter: seconds (float) or a duration."""
    try:
        value = float(text)
    except ValueError:
        try:
            return parse_duration(text)
        except ValueError:
            raise PromQLBadArgument(f"cannot parse {text!r} to a valid duration") from None
    if not math.isfinite(value):
        raise PromQLBadArgument(f"cannot parse {text!r} to a valid duration")
    return round(value * 1000)
