"""Alertmanager's dispatch: route alerts into groups, wait, then notify what changed.

Each (route, group labels) pair is an aggregation group: its first notification waits
``group_wait``, later ones come every ``group_interval`` when something changed, and an
unchanged group is repeated after ``repeat_interval``. Silenced and inhibited alerts are
left out at flush time, so expiring a silence brings them back.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.alerting.delivery import Delivery
from watchkeeper.alerting.inhibit import InhibitRule, inhibited
from watchkeeper.alerting.routing import Route
from watchkeeper.alerting.silences import SilenceStore, iso
from watchkeeper.alerting.time_intervals import TimeInterval, route_muted

log = logging.getLogger(__name__)
ZERO_TIME = "0001-01-01T00:00:00Z"


def fingerprint(labels: dict[str, str]) -> str:
    text = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class NotifiableAlert:
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_ms: int
    ends_ms: int  # 0: open-ended
    generator_url: str = ""
    fingerprint: str = ""

    def resolved(self, now_ms: int) -> bool:
        return bool(self.ends_ms) and self.ends_ms <= now_ms

    def to_webhook(self, now_ms: int) -> dict[str, Any]:
        done = self.resolved(now_ms)
        return {"status": "resolved" if done else "firing", "labels": self.labels,
                "annotations": self.annotations, "startsAt": iso(self.starts_ms),
                "endsAt": iso(self.ends_ms) if done else ZERO_TIME,
                "generatorURL": self.generator_url, "fingerprint": self.fingerprint}


@dataclass
class AggregationGroup:
    route: Route
    key: str
    labels: dict[str, str]
    alerts: dict[str, NotifiableAlert] = field(default_factory=dict)
    next_flush_ms: int = 0


class Dispatcher:
    """Receives alerts, keeps aggregation groups, and enqueues notifications."""

    def __init__(self, route: Route, delivery: Delivery, silences: SilenceStore,
                 inhibit_rules: list[InhibitRule] | None = None,
                 receivers: dict[str, list[str]] | None = None, external_url: str = "",
                 forward_routes: list[Route] | None = None,
                 time_intervals: dict[str, list[TimeInterval]] | None = None) -> None:
        self.route, self.delivery, self.silences = route, delivery, silences
        self.forward_routes = forward_routes or []  # every alert goes here too
        self.inhibit_rules = inhibit_rules or []
        self.receivers = receivers or {}  # receiver name -> integration ids
        self.external_url = external_url
        self.time_intervals = time_intervals or {}
        self.groups: dict[str, AggregationGroup] = {}
        self.alerts: dict[str, NotifiableAlert] = {}
        self.lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def receive(self, alerts: Iterable[NotifiableAlert], now_ms: int | None = None) -> None:
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        with self.lock:
            for alert in alerts:
                alert.fingerprint = alert.fingerprint or fingerprint(alert.labels)
                self.alerts[alert.fingerprint] = alert
                for route in self.route.match(alert.labels) + self.forward_routes:
                    key, labels = route.group_key(alert.labels)
                    group = self.groups.get(key)
                    if group is None:
                        group = AggregationGroup(route, key, labels,
                                                 next_flush_ms=now + route.group_wait_ms)
                        self.groups[key] = group
                    group.alerts[alert.fingerprint] = alert
        self._wake.set()

    def muted(self, alert: NotifiableAlert, now_ms: int) -> bool:
        if self.silences.muted_by(alert.labels, now_ms):
            return True
        if not self.inhibit_rules:
            return False
        firing = [a.labels for a in self.alerts.values() if not a.resolved(now_ms)]
        return inhibited(alert.labels, firing, self.inhibit_rules)

    def flush_due(self, now_ms: int | None = None) -> int:
        """Flush every group whose time has come; returns how many notifications queued."""
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        queued = 0
        with self.lock:
            for key, group in list(self.groups.items()):
                if group.next_flush_ms > now:
                    continue
                queued += self._flush(group, now)
                group.next_flush_ms = now + group.route.group_interval_ms
                for fp, alert in list(group.alerts.items()):
                    if alert.resolved(now):
                        del group.alerts[fp]
                if not group.alerts:
                    del self.groups[key]
            live = {fp for g in self.groups.values() for fp in g.alerts}
            for fp in list(self.alerts):
                if fp not in live and self.alerts[fp].resolved(now):
                    del self.alerts[fp]
        return queued

    def _flush(self, group: AggregationGroup, now: int) -> int:
        if route_muted(group.route, self.time_intervals, now):
            return 0  # not logged: the first flush after the mute sends it
        alerts = [a for a in group.alerts.values() if not self.muted(a, now)]
        firing = {a.fingerprint for a in alerts if not a.resolved(now)}
        resolved = {a.fingerprint for a in alerts if a.resolved(now)}
        payload = self.payload(group, alerts, now)
        queued = 0
        for integration_id in self.receivers.get(group.route.receiver, []):
            integration = self.delivery.integrations[integration_id]
            last_firing, last_resolved, sent_at = self.delivery.last_known(integration_id,
                                                                            group.key)
            if self._needs_update(firing, resolved, last_firing, last_resolved, sent_at,
                                  integration.send_resolved, group.route, now):
                self.delivery.enqueue(integration_id, group.key, payload)
                queued += 1
        return queued

    @staticmethod
    def _needs_update(firing: set[str], resolved: set[str], last_firing: set[str] | None,
                      last_resolved: set[str], sent_at: float, send_resolved: bool,
                      route: Route, now: int) -> bool:
        """Alertmanager's dedup rule, against what this integration last got."""
        if last_firing is None:
            return bool(firing)
        if not firing <= last_firing:
            return True
        if not firing:
            return bool(last_firing)
        if send_resolved and not resolved <= last_resolved:
            return True
        return sent_at * 1000 + route.repeat_interval_ms <= now

    def payload(self, group: AggregationGroup, alerts: list[NotifiableAlert],
                now: int) -> dict[str, Any]:
        """Alertmanager's webhook JSON, version 4."""
        items = [a.to_webhook(now) for a in alerts]
        common_labels = _common([a.labels for a in alerts])
        common_annotations = _common([a.annotations for a in alerts])
        status = "firing" if any(i["status"] == "firing" for i in items) else "resolved"
        return {"receiver": group.route.receiver, "status": status, "alerts": items,
                "groupLabels": group.labels, "commonLabels": common_labels,
                "commonAnnotations": common_annotations, "externalURL": self.external_url,
                "version": "4", "groupKey": group.key, "truncatedAlerts": 0}

    # ------------------------------------------------------------------ loop
    def flush_all_soon(self, now_ms: int | None = None) -> None:
        """Flush every group after at most its ``group_wait``: a server that has just become
        the notification leader sends what the old one had not (the shared notification log
        drops what it had)."""
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        with self.lock:
            for group in self.groups.values():
                group.next_flush_ms = min(group.next_flush_ms, now + group.route.group_wait_ms)
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="alert-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.flush_due()
            except Exception:
                log.exception("dispatch failed")
            with self.lock:
                due = min((g.next_flush_ms for g in self.groups.values()), default=None)
            wait = 1.0 if due is None else max(0.0, min(1.0, due / 1000 - time.time()))
            self._wake.wait(wait)


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    common = dict(maps[0])
    for m in maps[1:]:
        common = {k: v for k, v in common.items() if m.get(k) == v}
    return common
