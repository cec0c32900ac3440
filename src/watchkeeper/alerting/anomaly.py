"""Anomaly rules: flag a series whose value leaves its own recent pattern.

Robust z-score (Iglewicz and Hoaglin): ``0.6745 * (x - median) / MAD`` over the window
before the current sample. Median and MAD ignore the spikes a mean and standard deviation
would chase, so one outlier does not hide the next. The alert carries the baseline
(median) and the score, in its annotations and as ``$baseline`` / ``$score`` in templates.

Rule file form (a group may mix these with ordinary rules)::

    - alert: LatencyAnomaly
      anomaly: {expr: 'job:latency_seconds:p99', window: 1h, step: 1m, threshold: 3.5}
      for: 5m
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AnomalySpec:
        known = {"expr", "window", "step", "threshold", "direction", "min_samples"}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown anomaly field(s) {sorted(unknown)}")
        if not config.get("expr"):
            raise ValueError("anomaly needs expr")
        spec = cls(str(config["expr"]), parse_duration_ms(str(config.get("window", "1h"))),
                   parse_duration_ms(str(config.get("step", "1m"))),
                   float(config.get("threshold", 3.5)), str(config.get("direction", "both")),
                   int(config.get("min_samples", 10)))
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
