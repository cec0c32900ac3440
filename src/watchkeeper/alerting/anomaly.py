"""Anomaly rules: flag a series whose value leaves its own recent pattern.

Robust z-score (Iglewicz and Hoaglin): ``0.6745 * (x - median) / MAD`` over the window
before the current sample. Median and MAD ignore the spikes a mean and standard deviation
would chase, so one outlier does not hide the next. The alert carries the baseline
(median) and the score, in its annotations and as ``$baseline`` / ``$score`` in templates.

Rule file form (a group may mix these with ordinary rules)::

    - alert: LatencyAnomaly
      anomaly: {expr: 'job:latency_seconds:p99', window: 1h, step: 1m, threshold: 3.5}
      for: 5m

With ``min_score`` the rule uses the analysis room's streaming scorer instead (the score the
server records and the dashboard shows, in [0, 1], 0.5 the product's threshold): each
evaluation teaches every series its new value, after a warm start from the last
``warmup`` points at ``step``::

    - alert: LatencyAnomaly
      anomaly: {expr: 'job:latency_seconds:p99', min_score: 0.5, for: 2m}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from watchkeeper.alerting.rules import parse_duration_ms
from watchkeeper.promql import parse
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.values import Vector
from watchkeeper.tsdb.labels import Labels

MAD_SCALE = 0.6745


@dataclass(frozen=True)
class AnomalySpec:
    expr: str
    window_ms: int = 3_600_000
    step_ms: int = 60_000
    threshold: float = 3.5
    direction: str = "both"  # both, above, below
    min_samples: int = 10
    min_score: float | None = None  # set: the streaming scorer, not the robust z-score
    for_ms: int = 0
    warmup: int = 60
    # the streaming scorer's state and the last evaluation (mutable, never compared)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AnomalySpec:
        known = {"expr", "window", "step", "threshold", "direction", "min_samples",
                 "min_score", "for", "warmup"}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown anomaly field(s) {sorted(unknown)}")
        if not config.get("expr"):
            raise ValueError("anomaly needs expr")
        min_score = config.get("min_score")
        spec = cls(str(config["expr"]), parse_duration_ms(str(config.get("window", "1h"))),
                   parse_duration_ms(str(config.get("step", "30s" if min_score else "1m"))),
                   float(config.get("threshold", 3.5)), str(config.get("direction", "both")),
                   int(config.get("min_samples", 10)),
                   None if min_score in (None, "") else float(min_score),
                   parse_duration_ms(str(config.get("for", "0"))),
                   int(config.get("warmup", 60)))
        if spec.min_score is not None and not 0 < spec.min_score <= 1:
            raise ValueError("anomaly min_score must be above 0 and at most 1")
        if not 0 <= spec.warmup <= 10_000:
            raise ValueError("anomaly warmup must be between 0 and 10000 points")
        if spec.direction not in ("both", "above", "below"):
            raise ValueError(f"anomaly direction {spec.direction!r}: want both, above or below")
        if spec.step_ms <= 0 or spec.window_ms < spec.step_ms * 2:
            raise ValueError("anomaly window must hold at least two steps")
        parse(spec.expr)
        return spec


def robust_z(history: np.ndarray, current: float) -> tuple[float, float]:
    """(baseline, score) of ``current`` against ``history``; score 0 if history is flat."""
    baseline = float(np.median(history))
    mad = float(np.median(np.abs(history - baseline)))
    if mad == 0:
        spread = float(np.mean(np.abs(history - baseline)))  # flat but for rare blips
        if spread == 0:
            return baseline, 0.0 if current == baseline else float(np.sign(current - baseline)
                                                                    * np.inf)
        return baseline, (current - baseline) / (1.2533 * spread)
    return baseline, MAD_SCALE * (current - baseline) / mad


def anomaly_samples(engine: Engine, spec: AnomalySpec,
                    ts_ms: int) -> list[tuple[Labels, float, dict[str, float]]]:
    """Series now anomalous: (labels, score, {baseline, score, current})."""
    if spec.min_score is not None:
        return scored_samples(engine, spec, ts_ms)
    start = ts_ms - spec.window_ms
    result = engine.range(spec.expr, start, ts_ms, spec.step_ms)
    value = result.value
    if not isinstance(value, Vector):
        rows = [(Labels(), value.values, np.ones(len(value.values), dtype=bool))]  # scalar
    else:
        rows = [(value.labels[i], value.values[i], value.mask[i]) for i in range(len(value))]
    out = []
    for labels, values, mask in rows:
        if not mask[-1]:
            continue
        history = values[:-1][mask[:-1]]
        if len(history) < spec.min_samples:
            continue
        current = float(values[-1])
        baseline, score = robust_z(history, current)
        hit = (abs(score) > spec.threshold if spec.direction == "both"
               else score > spec.threshold if spec.direction == "above"
               else score < -spec.threshold)
        if hit:
            out.append((labels, score, {"baseline": baseline, "score": score,
                                        "current": current}))
    return out


def _rows(value: Any) -> tuple[list[Labels], np.ndarray, np.ndarray]:
    """(labels, values, present) of a query result, one row per series (a scalar: one)."""
    if not isinstance(value, Vector):
        vals = np.atleast_2d(np.asarray(value.values, dtype=float))
        return [Labels()], vals, np.ones(vals.shape, dtype=bool)
    return list(value.labels), value.values, value.mask


def scored_samples(engine: Engine, spec: AnomalySpec,
                   ts_ms: int) -> list[tuple[Labels, float, dict[str, float]]]:
    """Series whose streaming score reaches ``min_score`` now; the first evaluation warms
    the scorer on the ``warmup`` points before it."""
    from watchkeeper.analysis.streaming import StreamScorer

    memo = spec.memo
    if memo.get("ts") == ts_ms:  # evaluated already at this instant: the same answer
        return memo["out"]
    scorer = memo.get("scorer")
    if scorer is None or ts_ms < memo.get("ts", 0):
        scorer = memo["scorer"] = StreamScorer()
        if spec.warmup:
            start = ts_ms - spec.warmup * spec.step_ms
            labels, values, present = _rows(engine.range(spec.expr, start, ts_ms - spec.step_ms,
                                                         spec.step_ms).value)
            keys = np.fromiter((hash(lbl) for lbl in labels), np.int64, len(labels))
            for j in range(values.shape[1]):
                scorer.update(keys, np.where(present[:, j], values[:, j], np.nan))
    labels, values, present = _rows(engine.instant(spec.expr, ts_ms).value)
    keys = np.fromiter((hash(lbl) for lbl in labels), np.int64, len(labels))
    now = np.where(present[:, -1], values[:, -1], np.nan)
    baseline = scorer.baseline(keys)
    scores = scorer.update(keys, now)
    out = [(labels[i], float(scores[i]), {"baseline": float(baseline[i]),
                                          "score": float(scores[i]), "current": float(now[i])})
           for i in np.flatnonzero(scores >= spec.min_score)]
    memo.update(ts=ts_ms, out=out)
    return out
