"""Time until full, robust to log rotation.

``predict_linear`` over an hour pages every night a log rotates: the hour before the
rotation looks like steep growth. Here the trend is fitted on the upper envelope of usage:
hourly maxima of used bytes (size - available), then the maximum of each trailing day of
those, so a daily sawtooth with no net growth is a flat line while real growth keeps its
slope. The slope is Theil-Sen's (robust to outliers); the 80 % interval comes from the
spread of pairwise slopes. Flat or shrinking usage gives no time at all, not a huge one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forecasting import theil_sen

HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class TimeUntilFull:
    """Seconds until ``used`` reaches ``size`` from ``now`` (``None``: not growing),
    with an 80 % interval, and the growth per day behind it."""

    seconds: float | None
    lower: float | None
    upper: float | None
    growth_per_day: float
    used: float
    size: float


def _envelope(t: np.ndarray, used: np.ndarray, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Hourly maxima, then the max over the trailing ``window`` at each hour once a whole
    window lies behind it."""
    hours = np.floor(t / HOUR)
    keys, start = np.unique(hours, return_index=True)
    hourly = np.maximum.reduceat(used, start)
    span = max(1, round(window / HOUR))
    if len(keys) <= span:
        return keys * HOUR, hourly
    out_t, out_v = [], []
    for k in range(span - 1, len(keys)):
        inside = keys[k] - keys <= span - 1
        inside &= keys <= keys[k]
        out_t.append(keys[k] * HOUR)
        out_v.append(float(hourly[inside].max()))
    return np.array(out_t), np.array(out_v)


def time_until_full(t: np.ndarray, used: np.ndarray, size: float, now: float | None = None,
                    lookback: float = 7 * DAY, min_history: float = DAY,
                    envelope: float = DAY) -> TimeUntilFull | None:
    """``t`` in seconds, ``used`` in any unit of ``size``. ``None`` when there is less than
    ``min_history`` of data in the last ``lookback``."""
    t = np.asarray(t, dtype=float)
    used = np.asarray(used, dtype=float)
    ok = np.isfinite(t) & np.isfinite(used)
    t, used = t[ok], used[ok]
    if not len(t):
        return None
    now = float(t[-1]) if now is None else float(now)
    keep = t >= now - lookback
    t, used = t[keep], used[keep]
    if not len(t) or t[-1] - t[0] < min_history:
        return None
    # With less than two envelopes of history, a shorter envelope keeps enough points.
    window = min(envelope, (t[-1] - t[0]) / 4)
    et, ev = _envelope(t, used, window)
    current = float(used[-1])
    if len(et) < 3:
        return None
    slope, icpt, slopes = theil_sen(et, ev)
    per_day = slope * DAY
    # Growth below a thousandth of the size a week is "flat": no forecast, no page.
    if slope <= 0 or per_day * 7 < 1e-3 * size:
        return TimeUntilFull(None, None, None, per_day, current, size)
    level = max(icpt + slope * now, current)
    remaining = max(0.0, size - level)
    lo_slope, hi_slope = np.quantile(slopes, [0.1, 0.9])
    seconds = remaining / slope
    lower = remaining / hi_slope if hi_slope > 0 else None
    upper = remaining / lo_slope if lo_slope > 0 else None
    return TimeUntilFull(seconds, lower, upper, per_day, current, size)
