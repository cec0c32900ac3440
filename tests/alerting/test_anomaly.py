"""Anomaly rules flag a series that leaves its own recent pattern, with baseline and score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from watchkeeper.alerting.anomaly import robust_z
from watchkeeper.alerting.evaluator import RuleEvaluator
from watchkeeper.alerting.rules import RuleFileError, load_rule_text
from watchkeeper.alerting.state import FIRING
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

T0 = 1_700_000_000_000
RULES = """
groups:
  - name: anomalies
    rules:
      - alert: LatencyAnomaly
        anomaly: {expr: latency_seconds, window: 30m, step: 1m, threshold: 3.5}
        labels: {severity: warning}
        annotations:
          summary: >-
            {{ $labels.job }} at {{ $value | printf "%.1f" }} sigma
            from {{ printf "%.2f" $baseline }}
"""


def test_robust_z_ignores_a_past_spike() -> None:
    history = np.array([1.0, 1.1, 0.9, 1.0, 50.0, 1.05, 0.95, 1.0])
    baseline, score = robust_z(history, 1.02)
    assert baseline == pytest.approx(1.0, abs=0.03) and abs(score) < 1
    assert robust_z(history, 3.0)[1] > 10


def test_a_jump_fires_with_baseline_and_score(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data", background=False)
    try:
        rng = np.random.default_rng(7)
        for i in range(31):
            for job in ("api", "db"):
                value = 0.2 + rng.normal(0, 0.01)
                if job == "api" and i == 30:
                    value = 0.9  # the jump, at the evaluation time
                store.append({"__name__": "latency_seconds", "job": job}, T0 + i * 60_000,
                             value)
        store.commit()
        ev = RuleEvaluator(store, Engine(store), load_rule_text(RULES))
        ev.evaluate_all(T0 + 30 * 60_000)
        [alert] = ev.groups[0].rules[0].active.values()
        assert alert.state == FIRING and alert.labels.get("job") == "api"
        assert float(alert.annotations["baseline"]) == pytest.approx(0.2, abs=0.01)
        assert float(alert.annotations["score"]) > 20
        assert alert.annotations["summary"].startswith("api at ")
        assert "sigma from 0.20" in alert.annotations["summary"]
    finally:
        store.close()


def test_bad_anomaly_config_names_the_rule() -> None:
    bad = RULES.replace("window: 30m", "window: soon")
    with pytest.raises(RuleFileError, match='"LatencyAnomaly": anomaly: not a valid duration'):
        load_rule_text(bad)
