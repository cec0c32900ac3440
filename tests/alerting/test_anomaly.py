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


SCORED = """
groups:
  - name: scored
    rules:
      - alert: QueueAnomaly
        anomaly: {expr: queue_depth, min_score: 0.5, for: 1m, step: 30s}
        annotations: {summary: '{{ $labels.queue }} scored {{ printf "%.2f" $score }}'}
"""


def test_a_min_score_rule_warms_up_from_history_then_fires_after_its_for(
        tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data", background=False)
    try:
        rng = np.random.default_rng(9)
        for k in range(80):
            for queue in ("mail", "jobs"):
                store.append({"__name__": "queue_depth", "queue": queue}, T0 + k * 30_000,
                             100 + rng.normal())
        store.commit()
        [group] = load_rule_text(SCORED)
        assert group.rules[0].for_ms == 60_000 and group.rules[0].expr == "queue_depth"
        ev = RuleEvaluator(store, Engine(store), [group])
        rs = ev.groups[0].rules[0]
        ts = T0 + 80 * 30_000
        for k in range(4):  # the mail queue steps up by 20 sigma and stays
            store.append({"__name__": "queue_depth", "queue": "mail"}, ts + k * 30_000, 120.0)
            store.append({"__name__": "queue_depth", "queue": "jobs"}, ts + k * 30_000, 100.0)
            store.commit()
            ev.evaluate_all(ts + k * 30_000)
            if k == 0:  # scored from the first evaluation: the warm-up came from history
                [alert] = rs.active.values()
                assert alert.labels.get("queue") == "mail" and alert.state != FIRING
                assert float(alert.annotations["baseline"]) == pytest.approx(100, abs=1)
        [alert] = rs.active.values()
        assert alert.state == FIRING and alert.annotations["summary"].startswith("mail scored")
    finally:
        store.close()


def test_bad_min_score_is_refused() -> None:
    with pytest.raises(RuleFileError, match="min_score must be above 0 and at most 1"):
        load_rule_text(SCORED.replace("min_score: 0.5", "min_score: 2"))
