"""Evaluate rule groups on their intervals: alert state, ALERTS series, recording rules.

Why one scheduler thread: the PromQL engine is synchronous numpy work, so groups run off
the server's event loop, one after another in due order, which also keeps the two
shared cores free for everything else.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from watchkeeper.alerting.anomaly import anomaly_samples
from watchkeeper.alerting.capacity_rule import capacity_samples
from watchkeeper.alerting.rules import Rule, RuleGroup
from watchkeeper.alerting.state import INACTIVE, Alert, AlertingRuleState, StateChange
from watchkeeper.metrics.family import CounterMetricFamily, GaugeMetricFamily, Metric
from watchkeeper.promql import ast, parse
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.errors import PromQLError
from watchkeeper.promql.values import Scalar, Vector
from watchkeeper.tsdb.api import TimeSeriesStore
from watchkeeper.tsdb.labels import METRIC_NAME, Labels
from watchkeeper.tsdb.matchers import Matcher

log = logging.getLogger(__name__)
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
DEFAULT_INTERVAL_MS = 60_000


@dataclass
class RecordingRuleState:
    rule: Rule
    health: str = "unknown"
    last_error: str = ""
    last_eval_ms: int = 0
    eval_seconds: float = 0.0


@dataclass
class GroupState:
    group: RuleGroup
    interval_ms: int
    rules: list[AlertingRuleState | RecordingRuleState]
    last_eval_ms: int = 0
    eval_seconds: float = 0.0
    next_due: float = 0.0
    written: set[Labels] = field(default_factory=set)
    evaluations: int = 0
    failures: int = 0


@lru_cache(maxsize=16384)
def _parsed(expr: str) -> ast.Expr:
    """Rules run the same text every cycle: parse it once (an eighth of a cycle's time)."""
    return parse(expr)


def instant_samples(engine: Engine, expr: str, ts_ms: int) -> list[tuple[Labels, float]]:
    """The (labels, value) pairs of an instant query; a scalar is one unlabeled sample."""
    result = engine.instant(_parsed(expr), ts_ms)
    value = result.value
    if isinstance(value, Scalar):
        return [(Labels(), float(value.values[0]))]
    if not isinstance(value, Vector):
        raise PromQLError(f"rule result is a {result.kind}, not an instant vector")
    present = np.flatnonzero(value.mask[:, 0]) if len(value) else []
    return [(value.labels[i], float(value.values[i, 0])) for i in present]


class RuleEvaluator:
    """Runs groups against the engine and writes what they produce into the store.

    ``on_alerts(alerts, ts_ms)`` receives the alerts to send after each group evaluation;
    ``on_changes(changes)`` every state transition (for the history).
    """

    def __init__(self, store: TimeSeriesStore, engine: Engine, groups: list[RuleGroup], *,
                 default_interval_ms: int = DEFAULT_INTERVAL_MS,
                 external_labels: Mapping[str, str] | None = None, external_url: str = "",
                 on_alerts: Callable[[list[Alert], int], None] | None = None,
                 on_changes: Callable[[list[StateChange]], None] | None = None,
                 outage_tolerance_ms: int = 3_600_000, for_grace_period_ms: int = 600_000,
                 resend_delay_ms: int = 60_000) -> None:
        self.store, self.engine = store, engine
        self.external_labels = dict(external_labels or {})
        self.external_url = external_url
        self.default_interval_ms = default_interval_ms
        self.on_alerts, self.on_changes = on_alerts, on_changes
        self.on_group_done: Callable[[GroupState, int], None] | None = None
        self.outage_tolerance_ms = outage_tolerance_ms
        self.for_grace_period_ms = for_grace_period_ms
        self.resend_delay_ms = resend_delay_ms
        self.lock = threading.RLock()
        self.groups: list[GroupState] = []
        self.set_groups(groups)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set_groups(self, groups: list[RuleGroup]) -> None:
        """Replace the rules (a reload); alerts of unchanged rules keep their state."""
        with self.lock:
            old = {(g.group.name, r.rule.name, r.rule.expr): r
                   for g in self.groups for r in g.rules if isinstance(r, AlertingRuleState)}
            states = []
            for group in groups:
                rules: list[AlertingRuleState | RecordingRuleState] = []
                for rule in group.rules:
                    if rule.is_alerting:
                        kept = old.get((group.name, rule.name, rule.expr))
                        state = AlertingRuleState(rule, self.external_labels, self.external_url)
                        if kept is not None:
                            state.active, state.restored = kept.active, kept.restored
                        rules.append(state)
                    else:
                        rules.append(RecordingRuleState(rule))
                states.append(GroupState(group, group.interval_ms or self.default_interval_ms,
                                         rules))
            self.groups = states

    # ------------------------------------------------------------------ evaluation
    def evaluate_all(self, ts_ms: int | None = None) -> None:
        """One evaluation of every group at ``ts_ms`` (now if None)."""
        for group in list(self.groups):
            self.evaluate_group(group, ts_ms if ts_ms is not None else int(time.time() * 1000))

    def evaluate_group(self, gs: GroupState, ts_ms: int) -> None:
        started = time.perf_counter()
        changes: list[StateChange] = []
        written: set[Labels] = set()
        to_send: list[Alert] = []
        with self.lock:
            for rs in gs.rules:
                rule_started = time.perf_counter()
                gs.evaluations += 1
                try:
                    if isinstance(rs, AlertingRuleState):
                        changes += self._eval_alerting(rs, ts_ms, written, to_send,
                                                       gs.group.limit)
                    else:
                        self._eval_recording(rs, ts_ms, written, gs.group.limit)
                    rs.health, rs.last_error = "ok", ""
                except (PromQLError, ValueError) as e:
                    gs.failures += 1
                    rs.health, rs.last_error = "err", str(e)
                    log.warning("rule %s in group %s failed: %s", rs.rule.name, gs.group.name, e)
                except Exception as e:  # an engine bug fails this rule, not the group
                    gs.failures += 1
                    rs.health, rs.last_error = "err", f"internal error: {e!r}"
                    log.exception("rule %s in group %s crashed", rs.rule.name, gs.group.name)
                rs.last_eval_ms = ts_ms
                rs.eval_seconds = time.perf_counter() - rule_started
            for labels in gs.written - written:
                self.store.append(labels, ts_ms, STALE_NAN)
            self.store.commit()
            gs.written = written
            gs.last_eval_ms = ts_ms
            gs.eval_seconds = time.perf_counter() - started
            self._restore_once(gs, ts_ms)
        if changes and self.on_changes is not None:
            self.on_changes(changes)
        if to_send and self.on_alerts is not None:
            self.on_alerts(to_send, ts_ms)
        if self.on_group_done is not None:
            self.on_group_done(gs, ts_ms)

    def _eval_alerting(self, rs: AlertingRuleState, ts_ms: int, written: set[Labels],
                       to_send: list[Alert], limit: int = 0) -> list[StateChange]:
        rs.query = self._template_query(ts_ms)
        if rs.rule.anomaly is not None:
            samples: list = anomaly_samples(self.engine, rs.rule.anomaly, ts_ms)
        elif rs.rule.capacity is not None:
            samples = capacity_samples(self.engine, rs.rule.capacity, ts_ms)
        else:
            samples = instant_samples(self.engine, rs.rule.expr, ts_ms)
        changes = rs.update(samples, ts_ms)
        live = sum(1 for a in rs.active.values() if a.state != INACTIVE)
        if limit and live > limit:  # Prometheus drops the rule's alerts and fails it
            rs.active.clear()
            raise ValueError(f"exceeded limit of {limit} with {live} alerts")
        if not rs.rule.for_ms or rs.rule.for_ms < self.for_grace_period_ms:
            rs.restored = True
        valid_ms = 4 * max(self.resend_delay_ms, self.default_interval_ms)
        for alert in rs.active.values():
            if alert.state != INACTIVE and rs.restored:
                base = dict(alert.labels)
                alerts_labels = Labels.of({**base, METRIC_NAME: "ALERTS",
                                           "alertstate": alert.state})
                for_state = Labels.of({**base, METRIC_NAME: "ALERTS_FOR_STATE"})
                self.store.append(alerts_labels, ts_ms, 1.0)
                self.store.append(for_state, ts_ms, float(alert.active_at_ms // 1000))
                written.update((alerts_labels, for_state))
            if alert.needs_sending(ts_ms, self.resend_delay_ms):
                alert.last_sent_ms = ts_ms
                alert.valid_until_ms = ts_ms + valid_ms
                to_send.append(alert)
        return changes

    def _template_query(self, ts_ms: int) -> Callable[[str], list]:
        """Templates' ``query "expr"``: samples at the evaluation time, as Prometheus."""
        def query(expr: str) -> list[dict[str, object]]:
            try:
                samples = instant_samples(self.engine, expr, ts_ms)
            except PromQLError as e:
                raise ValueError(f"query {expr!r}: {e}") from None
            return [{"Labels": dict(labels), "Value": value} for labels, value in samples]
        return query

    def _eval_recording(self, rs: RecordingRuleState, ts_ms: int, written: set[Labels],
                        limit: int = 0) -> None:
        samples = instant_samples(self.engine, rs.rule.expr, ts_ms)
        if limit and len(samples) > limit:
            raise ValueError(f"exceeded limit {limit} with {len(samples)} series")
        out: dict[Labels, float] = {}
        for labels, value in samples:
            merged = {**dict(labels), **rs.rule.labels, METRIC_NAME: rs.rule.record}
            key = Labels.of(merged)
            if key in out:
                raise ValueError("vector contains metrics with the same labelset after "
                                 "applying rule labels")
            out[key] = value
        for key, value in out.items():
            self.store.append(key, ts_ms, value)
            written.add(key)

    def _restore_once(self, gs: GroupState, ts_ms: int) -> None:
        """After a group's first evaluation, active-since times come back from the store."""
        for rs in gs.rules:
            if not isinstance(rs, AlertingRuleState) or rs.restored:
                continue
            start = ts_ms - self.outage_tolerance_ms - rs.rule.for_ms
            last: dict[Labels, tuple[int, float]] = {}
            matchers = [Matcher.eq(METRIC_NAME, "ALERTS_FOR_STATE"),
                        Matcher.eq("alertname", rs.rule.alert)]
            for series in self.store.select(matchers, start, ts_ms - 1):
                values, stamps = series.values, series.timestamps
                keep = ~np.isnan(values)
                if keep.any():
                    i = np.flatnonzero(keep)[-1]
                    plain = Labels.of({k: v for k, v in series.labels if k != METRIC_NAME})
                    last[plain] = (int(stamps[i]), float(values[i]))
            rs.restore(last, ts_ms, self.for_grace_period_ms)

    # ------------------------------------------------------------------ scheduling
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rule-evaluator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            due = [g for g in self.groups if g.next_due <= now]
            for gs in due:
                interval = gs.interval_ms / 1000
                # aligned to the interval, as Prometheus spreads groups over theirs
                gs.next_due = (now // interval + 1) * interval
                try:
                    self.evaluate_group(gs, int(now * 1000))
                except Exception:  # a bad store write must not stop every other group
                    log.exception("evaluation of group %s failed", gs.group.name)
            waits = [g.next_due for g in self.groups] or [now + 1]
            self._stop.wait(max(0.0, min(min(waits) - time.time(), 1.0)))

    # ------------------------------------------------------------------ metrics
    def collect(self) -> Iterator[Metric]:
        """Evaluation counts, failures and durations, per group (collector protocol)."""
        evals = CounterMetricFamily("watchkeeper_rule_evaluations_total",
                                    "Rule evaluations.", labels=["rule_group"])
        fails = CounterMetricFamily("watchkeeper_rule_evaluation_failures_total",
                                    "Rule evaluations that failed.", labels=["rule_group"])
        duration = GaugeMetricFamily("watchkeeper_rule_group_last_duration_seconds",
                                     "Duration of the last evaluation of the group.",
                                     labels=["rule_group"])
        last = GaugeMetricFamily("watchkeeper_rule_group_last_evaluation_timestamp_seconds",
                                 "When the group was last evaluated.", labels=["rule_group"])
        rules = GaugeMetricFamily("watchkeeper_rule_group_rules", "Rules in the group.",
                                  labels=["rule_group"])
        for gs in self.groups:
            key = [f"{gs.group.file};{gs.group.name}"]
            evals.add_metric(key, gs.evaluations)
            fails.add_metric(key, gs.failures)
            duration.add_metric(key, gs.eval_seconds)
            last.add_metric(key, gs.last_eval_ms / 1000)
            rules.add_metric(key, len(gs.rules))
        yield from (evals, fails, duration, last, rules)
