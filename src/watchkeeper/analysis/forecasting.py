"""Forecasts with an honest error bar: linear (Theil-Sen), Holt (PromQL's
``double_exponential_smoothing``/``holt_winters``) and additive Holt-Winters.

Every forecast is backtested: the model is fitted on the first 80 % of the points and its
mean absolute percentage error on the last 20 % is reported beside the prediction, with an
80 % prediction interval from the in-sample residuals. A threshold's crossing time is
given when asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_MAX_PAIRS = 200_000  # pairwise slopes beyond this are sampled (deterministically)


def theil_sen(t: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(slope, intercept, slopes): the median of pairwise slopes, robust to a third of the
    points being outliers; ``slopes`` (the sample of pairwise slopes) gives intervals."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(t)
    if n < 2:
        raise ValueError("a trend needs at least two points")
    i, j = np.triu_indices(n, k=1)
    if len(i) > _MAX_PAIRS:
        pick = np.random.default_rng(0).choice(len(i), _MAX_PAIRS, replace=False)
        i, j = i[pick], j[pick]
    dt = t[j] - t[i]
    ok = dt != 0
    slopes = (y[j] - y[i])[ok] / dt[ok]
    if not len(slopes):
        raise ValueError("a trend needs at least two distinct times")
    slope = float(np.median(slopes))
    return slope, float(np.median(y - slope * t)), slopes


def holt(y: np.ndarray, sf: float, tf: float) -> tuple[float, float]:
    """(level, trend) after the last point, exactly as PromQL's
    ``double_exponential_smoothing(v, sf, tf)`` (the level is what it returns)."""
    if not (0 < sf < 1 and 0 < tf < 1):
        raise ValueError("smoothing and trend factors must be in (0, 1)")
    y = np.asarray(y, dtype=float)
    if len(y) < 2:
        raise ValueError("Holt needs at least two points")
    s0, s1, b = 0.0, float(y[0]), float(y[1] - y[0])
    for i in range(1, len(y)):
        if i > 1:
            b = tf * (s1 - s0) + (1 - tf) * b
        s0, s1 = s1, sf * float(y[i]) + (1 - sf) * (s1 + b)
    b = tf * (s1 - s0) + (1 - tf) * b
    return s1, b


def holt_winters(y: np.ndarray, period: int, alpha: float = 0.3, beta: float = 0.05,
                 gamma: float = 0.2) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Additive Holt-Winters: (level, trend, seasonal[period] aligned so that index 0 is
    the step after the last point, one-step fitted values)."""
    y = np.asarray(y, dtype=float)
    if period < 2 or len(y) < 2 * period:
        raise ValueError(f"seasonality needs two periods of history ({2 * period} points)")
    level = float(y[:period].mean())
    trend = float((y[period:2 * period].mean() - level) / period)
    season = list(y[:period] - level)
    fitted = np.empty(len(y))
    for i, x in enumerate(y):
        s = season[i % period]
        fitted[i] = level + trend + s
        last = level
        level = alpha * (x - s) + (1 - alpha) * (level + trend)
        trend = beta * (level - last) + (1 - beta) * trend
        season[i % period] = gamma * (x - level) + (1 - gamma) * s
    n = len(y)
    return level, trend, np.roll(np.array(season), -(n % period)), fitted


@dataclass
class Forecast:
    """Predicted values at ``times`` with an 80 % interval, and how well the same model
    predicted the last 20 % of the history when fitted on the rest."""

    method: str
    times: np.ndarray
    values: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    backtest_mape: float | None
    crossing: float | None = None  # when the prediction first reaches the threshold
    params: dict[str, float] = field(default_factory=dict)


def _predict(method: str, t: np.ndarray, y: np.ndarray, at: np.ndarray,
             period: int) -> tuple[np.ndarray, np.ndarray]:
    """(predictions at ``at``, in-sample residuals)."""
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    if method == "linear":
        slope, icpt, _ = theil_sen(t, y)
        return icpt + slope * at, y - (icpt + slope * t)
    if method == "holt":
        level, trend = holt(y, 0.5, 0.5)
        return level + trend * (at - t[-1]) / step, np.diff(y)
    if method == "holt_winters":
        level, trend, season, fitted = holt_winters(y, period)
        h = np.maximum(1, np.rint((at - t[-1]) / step)).astype(int)
        return level + trend * h + season[(h - 1) % period], y - fitted
    raise ValueError(f"unknown forecast method {method!r} (linear, holt, holt_winters)")


def forecast(t: np.ndarray, y: np.ndarray, at: np.ndarray, method: str = "linear",
             period: int = 0, threshold: float | None = None) -> Forecast:
    """Predict ``y`` at times ``at`` (same unit as ``t``)."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    at = np.asarray(at, dtype=float)
    pred, resid = _predict(method, t, y, at, period)
    spread = float(np.quantile(np.abs(resid), 0.8)) if len(resid) else 0.0
    cut = int(len(t) * 0.8)
    mape = None
    try:
        back, _ = _predict(method, t[:cut], y[:cut], t[cut:], period)
        nz = y[cut:] != 0
        if nz.any():
            mape = float(np.mean(np.abs((back[nz] - y[cut:][nz]) / y[cut:][nz])) * 100)
    except ValueError:
        pass  # too little history to hold a fifth back
    crossing = None
    if threshold is not None and len(at):
        above = pred >= threshold if pred[-1] >= y[-1] else pred <= threshold
        if above.any():
            # Between the last point below and the first beyond, not on the grid's step.
            k = int(np.argmax(above))
            t0, v0 = (float(t[-1]), float(y[-1])) if k == 0 else (float(at[k - 1]),
                                                                   float(pred[k - 1]))
            t1, v1 = float(at[k]), float(pred[k])
            crossing = t1 if v1 == v0 else t0 + (threshold - v0) * (t1 - t0) / (v1 - v0)
            crossing = min(max(crossing, t0), t1)
    return Forecast(method, at, pred, pred - spread, pred + spread, mape, crossing)
