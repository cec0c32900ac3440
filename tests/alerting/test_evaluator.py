"""Rules evaluate as Prometheus evaluates them, over the real store and engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.alerting.evaluator import RuleEvaluator
from watchkeeper.alerting.rules import load_rule_file, load_rule_text
from watchkeeper.alerting.state import FIRING, INACTIVE, PENDING
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store, parse_selector

T0 = 1_700_000_000_000
RULES = """
groups:
  - name: g
    interval: 10s
    rules:
      - alert: HighLoad
        expr: load > 5
        for: 30s
        labels: {severity: critical}
        annotations: {summary: "load {{ $value }} on {{ $labels.host }}"}
      - alert: Sticky
        expr: load > 5
        keep_firing_for: 20s
      - record: load:doubled
        expr: load * 2
        labels: {source: rule}
"""


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "data", background=False)
    yield s
    s.close()


def push(store: Store, ts: int, value: float, host: str = "a") -> None:
    store.append({"__name__": "load", "host": host}, ts, value)
    store.commit()


def make(store: Store, **kw) -> RuleEvaluator:
    return RuleEvaluator(store, Engine(store), load_rule_text(RULES), **kw)


def states(ev: RuleEvaluator, rule: str) -> list[str]:
    rs = next(r for g in ev.groups for r in g.rules if r.rule.name == rule)
    return [a.state for a in rs.active.values()]


def values(store: Store, selector: str) -> dict[str, list[float]]:
    return {str(s.labels): list(s.values) for s in store.select(parse_selector(selector))}


def test_pending_then_firing_then_resolved(store: Store) -> None:
    ev = make(store)
    sent = []
    ev.on_alerts = lambda alerts, ts: sent.extend((a.state, a.labels.get("host")) for a in alerts)
    push(store, T0, 9)
    ev.evaluate_all(T0)
    assert states(ev, "HighLoad") == [PENDING]
    push(store, T0 + 20_000, 9)
    ev.evaluate_all(T0 + 20_000)
    assert states(ev, "HighLoad") == [PENDING]
    push(store, T0 + 30_000, 9)
    ev.evaluate_all(T0 + 30_000)
    assert states(ev, "HighLoad") == [FIRING]
    push(store, T0 + 40_000, 1)
    ev.evaluate_all(T0 + 40_000)
    assert states(ev, "HighLoad") == [INACTIVE]
    high = [s for s in sent if s[0] in (FIRING, INACTIVE)]
    assert ("firing", "a") in high and ("inactive", "a") in high


def test_alert_labels_and_annotations_are_expanded(store: Store) -> None:
    ev = make(store)
    push(store, T0, 9)
    ev.evaluate_all(T0)
    rs = ev.groups[0].rules[0]
    alert = next(iter(rs.active.values()))
    assert dict(alert.labels) == {"alertname": "HighLoad", "host": "a", "severity": "critical"}
    assert alert.annotations == {"summary": "load 9 on a"}


def test_keep_firing_for_holds_a_firing_alert(store: Store) -> None:
    ev = make(store)
    push(store, T0, 9)
    ev.evaluate_all(T0)
    assert states(ev, "Sticky") == [FIRING]  # for: 0s fires at once
    push(store, T0 + 10_000, 1)
    ev.evaluate_all(T0 + 10_000)
    assert states(ev, "Sticky") == [FIRING]
    ev.evaluate_all(T0 + 30_000)
    assert states(ev, "Sticky") == [INACTIVE]


def test_alerts_series_and_recording_rules_are_written(store: Store) -> None:
    ev = make(store)
    push(store, T0, 9)
    ev.evaluate_all(T0)
    ev.evaluate_all(T0 + 10_000)
    firing = values(store, 'ALERTS{alertname="Sticky",alertstate="firing"}')
    assert list(firing.values()) == [[1.0, 1.0]]
    for_state = values(store, 'ALERTS_FOR_STATE{alertname="Sticky"}')
    assert list(for_state.values()) == [[T0 / 1000, T0 / 1000]]
    recorded = values(store, "load:doubled")
    assert recorded == {'load:doubled{host="a",source="rule"}': [18.0, 18.0]}


def test_pending_time_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store.open(data, background=False)
    ev = make(store, for_grace_period_ms=0)
    for i in range(3):  # pending from T0 to T0+20s, then the process stops
        push(store, T0 + i * 10_000, 9)
        ev.evaluate_all(T0 + i * 10_000)
    assert states(ev, "HighLoad") == [PENDING]
    store.close()
    store = Store.open(data, background=False)
    try:
        ev = make(store, for_grace_period_ms=0)
        # back 5 s after the last evaluation: 20 s spent pending, 10 s still to hold
        push(store, T0 + 25_000, 9)
        ev.evaluate_all(T0 + 25_000)
        rs = ev.groups[0].rules[0]
        alert = next(iter(rs.active.values()))
        assert alert.active_at_ms == T0 + 5_000  # shifted by the 5 s of downtime
        push(store, T0 + 35_000, 9)
        ev.evaluate_all(T0 + 35_000)
        assert states(ev, "HighLoad") == [FIRING]
    finally:
        store.close()


def test_evaluation_errors_are_kept_and_counted(store: Store) -> None:
    text = """
groups:
  - name: bad
    rules:
      - alert: Dup
        expr: label_replace(load, "host", "x", "", "") > 0
"""
    ev = RuleEvaluator(store, Engine(store), load_rule_text(text))
    push(store, T0, 9, "a")
    push(store, T0, 9, "b")
    ev.evaluate_all(T0)
    rs = ev.groups[0].rules[0]
    assert rs.health == "err" and "same labelset" in rs.last_error
    families = {m.name: m for m in ev.collect()}
    fails = families["watchkeeper_rule_evaluation_failures"].samples[0]
    assert fails.value == 1


def test_real_world_rule_files_evaluate(store: Store) -> None:
    fixtures = Path(__file__).parent / "fixtures" / "good"
    real_world = ("node_exporter.yml", "kubernetes.yml", "app.yml")
    groups = [g for name in real_world for g in load_rule_file(fixtures / name)]
    push(store, T0, 1)
    ev = RuleEvaluator(store, Engine(store), groups)
    ev.evaluate_all(T0)
    health = {r.rule.name: r.health for g in ev.groups for r in g.rules}
    assert set(health.values()) == {"ok"}, {k: v for k, v in health.items() if v != "ok"}
    assert states(ev, "Watchdog") == [FIRING]


def test_templates_can_query(store: Store) -> None:
    text = """
groups:
  - name: q
    rules:
      - alert: HostLoad
        expr: load > 5
        annotations:
          summary: '{{ with query "count(load)" }}{{ . | first | value }} hosts{{ end }}'
          bad: '{{ query "sum(" }}'
"""
    push(store, T0, 9, "a")
    push(store, T0, 1, "b")
    ev = RuleEvaluator(store, Engine(store), load_rule_text(text))
    ev.evaluate_all(T0)
    [alert] = ev.groups[0].rules[0].active.values()
    assert alert.annotations["summary"] == "2 hosts"
    assert alert.annotations["bad"].startswith("<error expanding template:")


def test_group_limit_fails_the_rule_as_prometheus_does(store: Store) -> None:
    text = """
groups:
  - name: limited
    limit: 1
    rules:
      - alert: TooMany
        expr: load > 0
      - record: load:copy
        expr: load
"""
    push(store, T0, 9, "a")
    push(store, T0, 9, "b")
    ev = RuleEvaluator(store, Engine(store), load_rule_text(text))
    ev.evaluate_all(T0)
    alerting, recording = ev.groups[0].rules
    assert alerting.health == "err" and alerting.last_error == "exceeded limit of 1 with 2 alerts"
    assert alerting.active == {}
    assert recording.last_error == "exceeded limit 1 with 2 series"
    assert values(store, "load:copy") == {}
