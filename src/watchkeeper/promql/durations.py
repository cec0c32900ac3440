"""Prometheus durations (``1h30m``) and API timestamps (RFC 3339 or unix seconds)."""

from __future__ import annotations

import re
from datetime import datetime

from watchkeeper.promql.errors import PromQLBadArgument
from watchkeeper.tsdb.api import MAX_TIME as MAX_TIME_MS

UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
           "w": 7 * 86_400_000, "y": 365 * 86_400_000}
_ORDER = ["y", "w", "d", "h", "m", "s", "ms"]
DURATION_RE = re.compile(r"(?:[0-9]+(?:ms|[smhdwy]))+")
_PART = re.compile(r"([0-9]+)(ms|[smhdwy])")
# Go's time.Duration (Prometheus's) ends at 2^63 ns, about 292 years; times end at the
# store's bounds, so a time plus or minus a few durations always fits in int64
MAX_DURATION_MS = (2**63 - 1) // 1_000_000


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
    if total > MAX_DURATION_MS:
        raise ValueError(f"not a valid duration string: {text!r}: duration out of range "
                         "(at most 292 years)")
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
        if not abs(value) * 1000 <= MAX_TIME_MS:  # NaN and infinities too
            raise PromQLBadArgument(f"cannot parse {text!r} to a valid timestamp: out of "
                                    "range")
        return round(value * 1000)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return round(dt.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise PromQLBadArgument(f"cannot parse {text!r} to a valid timestamp") from None


def parse_step(text: str) -> int:
    """Milliseconds from a step or timeout parameter: seconds (float) or a duration."""
    try:
        value = float(text)
    except ValueError:
        try:
            return parse_duration(text)
        except ValueError:
            raise PromQLBadArgument(f"cannot parse {text!r} to a valid duration") from None
    if not abs(value) * 1000 <= MAX_DURATION_MS:  # NaN and infinities too
        raise PromQLBadArgument(f"cannot parse {text!r} to a valid duration: out of range")
    return round(value * 1000)
