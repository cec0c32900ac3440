"""Per-label-set alert state, moved on each evaluation exactly as Prometheus moves it.

inactive -> pending (expression returns the label set) -> firing (held for ``for``) ->
inactive/resolved (gone, or gone for longer than ``keep_firing_for``). Resolved alerts are
kept 15 minutes so receivers hear about the resolution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from watchkeeper.alerting.rules import Rule
from watchkeeper.alerting.templates import Template, TemplateError
from watchkeeper.tsdb.labels import METRIC_NAME, Labels

PENDING, FIRING, INACTIVE = "pending", "firing", "inactive"
RESOLVED_RETENTION_MS = 15 * 60_000


@dataclass
class Alert:
    """One label set of one alerting rule."""

    labels: Labels
    annotations: dict[str, str]
    value: float
    state: str
    active_at_ms: int
    fired_at_ms: int = 0
    resolved_at_ms: int = 0
    last_sent_ms: int = 0
    keep_firing_since_ms: int = 0
    valid_until_ms: int = 0

    @property
    def name(self) -> str:
        return self.labels.get("alertname")

    def needs_sending(self, ts_ms: int, resend_delay_ms: int) -> bool:
        """Prometheus's rule: never pending ones; resolutions once; firing ones every delay."""
        if self.state == PENDING:
            return False
        if self.resolved_at_ms > self.last_sent_ms:
            return True
        return self.last_sent_ms + resend_delay_ms < ts_ms


@dataclass
class StateChange:
    """One transition, kept in the alert history."""

    rule: str
    alert: Alert
    old: str
    new: str
    ts_ms: int


@lru_cache(maxsize=8192)
def _template(text: str, name: str) -> Template | TemplateError:
    try:
        return Template(text, name)
    except TemplateError as e:
        return e


def expand(text: str, rule: str, labels: Mapping[str, str], value: float,
           external_labels: Mapping[str, str], external_url: str = "",
           extras: Mapping[str, float] | None = None,
           query: Callable[[str], list] | None = None) -> str:
    """A label or annotation expanded; a template error becomes the text, as in Prometheus."""
    if "{{" not in text:
        return text
    template = _template(text, f"__alert_{rule}")
    if isinstance(template, TemplateError):
        return f"<error expanding template: {template}>"
    data = {"Labels": dict(labels), "ExternalLabels": dict(external_labels),
            "ExternalURL": external_url, "Value": value}
    variables = {"$labels": data["Labels"], "$externalLabels": data["ExternalLabels"],
                 "$externalURL": external_url, "$value": value,
                 **{f"${k}": v for k, v in (extras or {}).items()}}
    try:
        return template.render(data, query, variables=variables)
    except TemplateError as e:
        return f"<error expanding template: {e}>"


@dataclass
class AlertingRuleState:
    """The active alerts of one rule and how its last evaluation went."""

    rule: Rule
    external_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    active: dict[Labels, Alert] = field(default_factory=dict)
    restored: bool = False
    health: str = "unknown"
    last_error: str = ""
    last_eval_ms: int = 0
    eval_seconds: float = 0.0
    query: Callable[[str], list] | None = None  # the templates' ``query`` function

    def update(self, samples: Iterable[tuple], ts_ms: int) -> list[StateChange]:
        """Apply one evaluation's result, (labels, value) or (labels, value, extras) per
        series; returns every state change it caused. Extras (an anomaly's baseline and
        score) become annotations and template variables."""
        rule, changes = self.rule, []
        seen: dict[Labels, tuple[dict[str, str], float]] = {}
        for metric, value, *more in samples:
            extras = more[0] if more else {}
            plain = {k: v for k, v in metric}
            builder = {k: v for k, v in metric if k != METRIC_NAME}
            for name, text in rule.labels.items():
                builder[name] = expand(text, rule.alert, plain, value, self.external_labels,
                                       self.external_url, extras, self.query)
            builder["alertname"] = rule.alert
            labels = Labels.of(builder)
            if labels in seen:
                raise ValueError("vector contains metrics with the same labelset after "
                                 "applying alert labels")
            annotations = {name: expand(text, rule.alert, plain, value, self.external_labels,
                                        self.external_url, extras, self.query)
                           for name, text in rule.annotations.items()}
            for name, number in extras.items():
                annotations.setdefault(name, f"{number:.6g}")
            seen[labels] = (annotations, value)
        for labels, (annotations, value) in seen.items():
            alert = self.active.get(labels)
            if alert is not None and alert.state != INACTIVE:
                alert.value, alert.annotations = value, annotations
                alert.keep_firing_since_ms = 0
                continue
            alert = Alert(labels, annotations, value, PENDING, ts_ms)
            self.active[labels] = alert
            changes.append(StateChange(rule.alert, alert, INACTIVE, PENDING, ts_ms))
        for labels, alert in list(self.active.items()):
            if labels in seen:
                continue
            if rule.keep_firing_for_ms and alert.state == FIRING:
                if not alert.keep_firing_since_ms:
                    alert.keep_firing_since_ms = ts_ms
                if ts_ms - alert.keep_firing_since_ms < rule.keep_firing_for_ms:
                    continue
            if alert.state == PENDING or (
                    alert.resolved_at_ms and ts_ms - alert.resolved_at_ms > RESOLVED_RETENTION_MS):
                del self.active[labels]
            if alert.state != INACTIVE:
                changes.append(StateChange(rule.alert, alert, alert.state, INACTIVE, ts_ms))
                alert.state, alert.resolved_at_ms = INACTIVE, ts_ms
        for alert in self.active.values():
            if alert.state == PENDING and ts_ms - alert.active_at_ms >= rule.for_ms:
                alert.state, alert.fired_at_ms = FIRING, ts_ms
                changes.append(StateChange(rule.alert, alert, PENDING, FIRING, ts_ms))
        return changes

    def restore(self, last_active_at: Mapping[Labels, tuple[int, float]], ts_ms: int,
                grace_ms: int) -> None:
        """Pending time survives a restart: ``last_active_at`` maps alert labels to the
        (timestamp, value) of their last ALERTS_FOR_STATE sample before the restart."""
        hold = self.rule.for_ms
        for labels, alert in self.active.items():
            found = last_active_at.get(labels)
            if found is None or alert.state == INACTIVE or math.isnan(found[1]):
                continue
            down_at_ms, active_at_s = found
            restored_ms = int(active_at_s) * 1000
            remaining = hold - (down_at_ms - restored_ms)
            if remaining <= 0:
                pass
            elif remaining < grace_ms:
                restored_ms = ts_ms - hold + grace_ms
            else:
                restored_ms += ts_ms - down_at_ms
            alert.active_at_ms = restored_ms
        self.restored = True

    def state(self) -> str:
        """The rule's overall state for /api/v1/rules: firing > pending > inactive."""
        states = {a.state for a in self.active.values()}
        return FIRING if FIRING in states else PENDING if PENDING in states else INACTIVE
