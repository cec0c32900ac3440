"""AlertingService: rules, evaluation, history and notifications as one object for the server.

    service = AlertingService(store, engine, config, data_dir)
    service.start()                     # evaluation, dispatch and delivery threads
    app.routes.extend(service.routes()) # /api/v1/rules, /alerts, /silences, /thresholds...
    registry.register(service)          # evaluation and notification metrics
    service.stop()

``config`` has Prometheus's and Alertmanager's shapes: ``rule_files``,
``evaluation_interval``, ``external_labels``, ``alertmanagers`` (URLs every alert is
forwarded to, as Prometheus does), ``route``, ``receivers``, ``inhibit_rules``, plus
``maintenance_windows`` and ``delivery`` (backoff) of our own, and ``rule_packs`` and
``default_rules`` (which packs load, see default_rules.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from watchkeeper.alerting.default_rules import pack_groups
from watchkeeper.alerting.delivery import Delivery
from watchkeeper.alerting.dispatcher import Dispatcher, NotifiableAlert, fingerprint
from watchkeeper.alerting.evaluator import RuleEvaluator
from watchkeeper.alerting.history import AlertHistory
from watchkeeper.alerting.inhibit import InhibitRule
from watchkeeper.alerting.notify import (
    NOTIFY_ENV,
    NOTIFY_RECEIVER,
    RECEIVER_HINT,
    notification_routes,
    notify_receiver,
    notify_route,
)
from watchkeeper.alerting.receivers import build_integrations
from watchkeeper.alerting.routing import Route, build_route
from watchkeeper.alerting.rules import RuleGroup, load_rule_files, parse_duration_ms
from watchkeeper.alerting.shared_state import shared_state_from
from watchkeeper.alerting.shared_stores import (
    SharedAckHistory,
    SharedSilenceStore,
    SharedThresholdStore,
)
from watchkeeper.alerting.silences import MaintenanceWindow, SilenceStore
from watchkeeper.alerting.state import INACTIVE, Alert, AlertingRuleState, StateChange
from watchkeeper.alerting.thresholds import ThresholdStore
from watchkeeper.alerting.time_intervals import check_route_intervals, parse_time_intervals
from watchkeeper.metrics.family import GaugeMetricFamily, Metric
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb.api import TimeSeriesStore

log = logging.getLogger(__name__)
FORWARD = "alertmanagers"


def _ms(config: Mapping[str, Any], name: str, default: int) -> int:
    """A duration option: ``"1m30s"`` as Prometheus writes it, or a number of seconds."""
    value = config.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value * 1000)
    return parse_duration_ms(str(value))


def forward_targets(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``alertmanagers`` entries as Alertmanager integrations: each alert carries the
    external labels, then ``alert_relabel_configs`` (the alerting section's, then the
    entry's own) run on it, as Prometheus's notifier does. An HA pair drops its ``replica``
    label there, so the Alertmanager cluster sees one alert and notifies once."""
    external = dict(config.get("external_labels") or {})
    shared = list(config.get("alert_relabel_configs") or [])
    out = []
    for entry in config.get("alertmanagers") or []:
        item = {"url": entry} if isinstance(entry, str) else dict(entry)
        item["alert_relabel_configs"] = shared + list(item.get("alert_relabel_configs") or [])
        item.setdefault("external_labels", external)
        out.append(item)
    return out


def check_alerting_config(config: Mapping[str, Any], base_dir: str | Path = ".") -> list[str]:
    """Problems in an alerting config (rule files, route, receivers), without starting
    anything: for ``check-config`` and for refusing a bad reload."""
    from watchkeeper.alerting.rules import RuleFileError

    problems: list[str] = []
    try:
        pack_groups(config)
    except ValueError as e:
        problems.append(str(e))
    try:
        load_rule_files(_resolve(config.get("rule_files") or [], base_dir))
    except RuleFileError as e:
        problems += [f"{e.path}: {p}" for p in e.problems]
    except OSError as e:
        problems.append(f"rule_files: {e}")
    try:
        names = set()
        for receiver in config.get("receivers") or []:
            build_integrations(receiver)
            names.add(str(receiver.get("name", "")))
        build_integrations({"name": FORWARD, "alertmanager_configs": forward_targets(config)})
        intervals = parse_time_intervals(config)
        if config.get("route"):
            route = build_route(config["route"])
            check_route_intervals(route, intervals)
            pending = [route]
            while pending:
                current = pending.pop()
                if current.receiver not in names:
                    problems.append(f"route {current.path}: undefined receiver "
                                    f"{current.receiver!r}")
                pending += current.routes
        for rule in config.get("inhibit_rules") or []:
            InhibitRule.from_config(rule)
        for window in config.get("maintenance_windows") or []:
            MaintenanceWindow.from_config(window)
        for name in ("evaluation_interval", "resend_delay", "for_grace_period"):
            _ms(config, name, 0)
        shared = config.get("shared_state")
        if shared and not (isinstance(shared, Mapping) and str(shared.get("url", "")).startswith(
                ("postgresql://", "postgres://"))):
            problems.append("shared_state: needs url: postgresql://...")
    except (ValueError, TypeError, AttributeError) as e:
        problems.append(str(e))
    return problems


def configured_groups(config: Mapping[str, Any], base_dir: str | Path = ".") -> list[RuleGroup]:
    """The rule groups a config loads, packs first, as the server would load them (raises
    ValueError for packs and RuleFileError for rule files)."""
    return pack_groups(config) + load_rule_files(_resolve(config.get("rule_files") or [],
                                                          base_dir))


def _resolve(paths: list[str], base_dir: str | Path) -> list[str]:
    """Rule file paths relative to the config file's directory, as Prometheus does."""
    return [p if Path(p).is_absolute() else str(Path(base_dir) / p) for p in map(str, paths)]


class AlertingService:
    """Everything alerting, built from one config section and a data directory."""

    def __init__(self, store: TimeSeriesStore, engine: Engine, config: Mapping[str, Any],
                 data_dir: str | Path, extra_groups: list[RuleGroup] | None = None,
                 base_dir: str | Path = ".") -> None:
        self.config = dict(config or {})
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        db = self.data_dir / "alerting.db"
        self.external_url = str(self.config.get("external_url", ""))
        self.rule_files = _resolve(self.config.get("rule_files") or [], base_dir)
        configured = list(self.config.get("receivers") or [])
        self.receiver_names = [str(r.get("name", "")) for r in configured]
        receivers = list(configured)
        forward = forward_targets(self.config)
        if forward:  # as Prometheus does: every alert, resent every minute, no grouping
            receivers.append({"name": FORWARD, "alertmanager_configs": forward})
        notify = notify_receiver()
        if notify:  # WATCHKEEPER_NOTIFY: every alert, whatever the route
            receivers.append(notify)
        integrations = []
        by_receiver: dict[str, list[str]] = {}
        for receiver in receivers:
            found = build_integrations(receiver)
            integrations += found
            by_receiver[str(receiver.get("name", ""))] = [i.id for i in found]
        route_config = self.config.get("route") or {
            "receiver": configured[0]["name"] if configured else "default"}
        self.route: Route = build_route(route_config)
        self.time_intervals = parse_time_intervals(self.config)
        check_route_intervals(self.route, self.time_intervals)
        delivery_config = self.config.get("delivery") or {}
        self.shared = shared_state_from(self.config.get("shared_state"))
        self.delivery = Delivery(db, integrations, shared=self.shared,
                                 initial_backoff=_ms(delivery_config, "initial_backoff", 1000)
                                 / 1000,
                                 max_backoff=_ms(delivery_config, "max_backoff", 60_000) / 1000)
        windows = [MaintenanceWindow.from_config(w)
                   for w in self.config.get("maintenance_windows") or []]
        self.silences = (SilenceStore(db, windows) if self.shared is None
                         else SharedSilenceStore(self.shared, windows))
        self.dispatcher = Dispatcher(
            self.route, self.delivery, self.silences,
            [InhibitRule.from_config(r) for r in self.config.get("inhibit_rules") or []],
            by_receiver, self.external_url,
            ([build_route({"receiver": FORWARD, "group_by": ["..."], "group_wait": "0s",
                           "group_interval": "10s", "repeat_interval": "1m"},
                          path="{}/forward")] if forward else [])
            + ([notify_route()] if notify else []), self.time_intervals)
        self.extra_groups = list(extra_groups or [])
        self.history = (AlertHistory(db) if self.shared is None
                        else SharedAckHistory(db, self.shared))
        self.pack_groups = pack_groups(self.config)
        self.file_groups = load_rule_files(self.rule_files)
        self.thresholds = (ThresholdStore(db) if self.shared is None
                           else SharedThresholdStore(self.shared))
        self.evaluator = RuleEvaluator(
            store, engine, self._all_groups(),
            default_interval_ms=_ms(self.config, "evaluation_interval", 60_000),
            external_labels=self.config.get("external_labels") or {},
            external_url=self.external_url,
            on_alerts=self._send, on_changes=self._changed,
            for_grace_period_ms=_ms(self.config, "for_grace_period", 600_000),
            resend_delay_ms=_ms(self.config, "resend_delay", 60_000))
        self.change_listeners: list[Any] = [self.history.record]
        self._unevaluated = {g.group.name for g in self.evaluator.groups}
        self.evaluator.on_group_done = self._group_done

    # ------------------------------------------------------------------ wiring
    def _send(self, alerts: list[Alert], ts_ms: int) -> None:
        out = []
        for alert in alerts:
            ends = alert.resolved_at_ms if alert.state == INACTIVE else alert.valid_until_ms
            out.append(NotifiableAlert(dict(alert.labels), dict(alert.annotations),
                                       alert.fired_at_ms or alert.active_at_ms, ends,
                                       self.external_url))
        self.dispatcher.receive(out, ts_ms)

    def _group_done(self, gs: Any, ts_ms: int) -> None:
        """Once every group has run after a start, alerts that ended while the process was
        down are resolved in the history and their receivers are told."""
        if not self._unevaluated:
            return
        self._unevaluated.discard(gs.group.name)
        if self._unevaluated:
            return
        self.evaluator.on_group_done = None
        live, rules = set(), set()
        for group in self.evaluator.groups:
            for rs in group.rules:
                if isinstance(rs, AlertingRuleState):
                    rules.add(rs.rule.alert)
                    live.update(fingerprint(dict(a.labels)) for a in rs.active.values()
                                if a.state != INACTIVE)
        stale = self.history.close_stale(live, rules, ts_ms)
        ended = [NotifiableAlert(r["labels"], {}, r["started_ms"], ts_ms, self.external_url)
                 for r in stale if r["state"] == "firing"]
        if ended:
            log.info("%d alerts ended while watchkeeper was down; sending resolutions",
                     len(ended))
            self.dispatcher.receive(ended, ts_ms)

    def _changed(self, changes: list[StateChange]) -> None:
        for listener in self.change_listeners:
            try:
                listener(changes)
            except Exception:
                log.exception("alert history listener failed")

    def reload(self, config: Mapping[str, Any] | None = None) -> None:
        """Read the rule files again (SIGHUP / POST /-/reload), and the packs with the
        ``rule_packs`` and ``default_rules`` of ``config`` if given; keeps unchanged alerts."""
        packs = dict(self.config)
        packs.update({k: config[k] for k in ("rule_packs", "default_rules")
                      if config is not None and k in config})
        pack_rules = pack_groups(packs)
        self.file_groups = load_rule_files(self.rule_files)
        self.config, self.pack_groups = packs, pack_rules
        self.evaluator.set_groups(self._all_groups())

    def thresholds_changed(self) -> None:
        """Recompile thresholds into rules (rule files are not read again)."""
        self.evaluator.set_groups(self._all_groups())

    def _all_groups(self) -> list[RuleGroup]:
        groups = self.pack_groups + self.file_groups + self.extra_groups
        thresholds = self.thresholds.rule_group()
        return [*groups, thresholds] if thresholds.rules else groups

    def routes(self) -> list[Any]:
        from watchkeeper.alerting.manage_api import incident_routes, threshold_routes
        from watchkeeper.alerting.rules_api import rules_routes
        from watchkeeper.alerting.silences_api import silences_routes

        return (rules_routes(self.evaluator) + notification_routes(self)
                + silences_routes(self.silences)
                + threshold_routes(self.thresholds, self.thresholds_changed)
                + incident_routes(self.history))

    def active_alerts(self) -> list[dict[str, Any]]:
        from watchkeeper.alerting.rules_api import active_alerts

        return active_alerts(self.evaluator)

    def start(self) -> None:
        if any(i.startswith(f"{NOTIFY_RECEIVER}/") for i in self.delivery.integrations):
            log.info("every alert is also notified through Apprise (%s)", NOTIFY_ENV)
        elif not self.receiver_names:
            log.warning("%s", RECEIVER_HINT)
        if self.shared is not None:
            self.shared.on_change["thresholds"] = self.thresholds_changed
            self.shared.on_lead = self.dispatcher.flush_all_soon
            self.shared.start()
        self.delivery.start()
        self.dispatcher.start()
        self.evaluator.start()

    def stop(self) -> None:
        self.evaluator.stop()
        self.dispatcher.stop()
        self.delivery.close()
        self.silences.close()
        self.history.close()
        self.thresholds.close()
        if self.shared is not None:
            self.shared.close()

    def collect(self) -> Iterator[Metric]:
        yield from self.evaluator.collect()
        yield from self.delivery.collect()
        yield from self.history.collect()
        if self.shared is not None:
            leader = GaugeMetricFamily("watchkeeper_notification_leader",
                                       "Whether this server is the one of its shared-state "
                                       "group that sends the notifications.")
            leader.add_metric([], 1.0 if self.shared.is_leader else 0.0)
            yield leader
