"""The packs a config turns on, with its defaults disabled or overridden by alert name.

    rule_packs: [resources]             # more packs, one line
    default_rules:
      enabled: true                     # false: none of DEFAULT_PACKS
      disable: [HostLoadAboveCores]
      override:
        TargetDown: {for: 1m, labels: {severity: critical}}

An override replaces ``expr``, ``for`` and ``keep_firing_for`` and merges ``labels`` and
``annotations`` into the rule's; the result is validated as a rule file's rule would be.
A name no pack defines is an error, so a typo does not silently keep a rule paging.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.alerting.packs import PackError, available_packs, enabled_packs, load_pack
from watchkeeper.alerting.rules import Rule, RuleGroup, parse_duration_ms, validate_rule

_SECTIONS = {"enabled", "disable", "override"}
_OVERRIDE_FIELDS = {"expr", "for", "keep_firing_for", "labels", "annotations"}


@dataclass
class RuleOverride:
    expr: str | None = None
    for_ms: int | None = None
    keep_firing_for_ms: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    def apply(self, rule: Rule) -> Rule:
        out = copy.deepcopy(rule)
        if self.expr is not None:
            out.expr = self.expr
        if self.for_ms is not None:
            out.for_ms = self.for_ms
        if self.keep_firing_for_ms is not None:
            out.keep_firing_for_ms = self.keep_firing_for_ms
        out.labels.update(self.labels)
        out.annotations.update(self.annotations)
        return out


@dataclass
class DefaultRules:
    enabled: bool = True
    disable: set[str] = field(default_factory=set)
    override: dict[str, RuleOverride] = field(default_factory=dict)


def _duration(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{where}: a duration cannot be negative")
        return int(value * 1000)
    try:
        return parse_duration_ms(str(value))
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a mapping of names to strings")
    return {str(k): str(v) for k, v in value.items()}


def parse_default_rules(config: Mapping[str, Any] | None) -> DefaultRules:
    """The ``default_rules`` section, checked for shape (names are checked on loading)."""
    if config is None:
        return DefaultRules()
    if not isinstance(config, Mapping):
        raise ValueError("default_rules: expected a mapping (enabled, disable, override)")
    unknown = set(config) - _SECTIONS
    if unknown:
        raise ValueError(f"default_rules: unknown field(s) {sorted(unknown)}; "
                         f"expected {sorted(_SECTIONS)}")
    enabled = config.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("default_rules.enabled: expected true or false")
    disable = config.get("disable") or []
    if isinstance(disable, str) or not isinstance(disable, list):
        raise ValueError("default_rules.disable: expected a list of alert names")
    overrides: dict[str, RuleOverride] = {}
    override = config.get("override") or {}
    if not isinstance(override, Mapping):
        raise ValueError("default_rules.override: expected a mapping of alert names to changes")
    if not all(isinstance(n, str) for n in disable):
        raise ValueError("default_rules.disable: expected a list of alert names")
    for name, spec in override.items():
        where = f"default_rules.override.{name}"
        if not isinstance(spec, Mapping):
            raise ValueError(f"{where}: expected a mapping ({', '.join(sorted(_OVERRIDE_FIELDS))})")
        bad = set(spec) - _OVERRIDE_FIELDS
        if bad:
            raise ValueError(f"{where}: unknown field(s) {sorted(bad)}; "
                             f"expected {sorted(_OVERRIDE_FIELDS)}")
        expr = spec.get("expr")
        overrides[str(name)] = RuleOverride(
            expr=None if expr is None else str(expr),
            for_ms=_duration(spec.get("for"), f"{where}.for"),
            keep_firing_for_ms=_duration(spec.get("keep_firing_for"),
                                         f"{where}.keep_firing_for"),
            labels=_strings(spec.get("labels"), f"{where}.labels"),
            annotations=_strings(spec.get("annotations"), f"{where}.annotations"))
    return DefaultRules(enabled, {str(n) for n in disable}, overrides)


def _known_alerts() -> set[str]:
    return {r.alert for name in available_packs() for g in load_pack(name) for r in g.rules
            if r.alert}


def pack_groups(config: Mapping[str, Any]) -> list[RuleGroup]:
    """The rule groups of every enabled pack, after ``disable`` and ``override``; raises
    ValueError naming the key and the name at fault."""
    defaults = parse_default_rules(config.get("default_rules"))
    names = config.get("rule_packs") or []
    if isinstance(names, str) or not isinstance(names, list):
        raise ValueError("rule_packs: expected a list of pack names")
    groups: list[RuleGroup] = []
    for name in enabled_packs([str(n) for n in names], defaults.enabled):
        try:
            groups += load_pack(name)
        except PackError as e:
            raise ValueError(f"rule_packs: {e}") from None
    asked = defaults.disable | set(defaults.override)
    if asked:
        known = _known_alerts()
        for key, chosen in (("disable", defaults.disable), ("override", defaults.override)):
            missing = sorted(set(chosen) - known)
            if missing:
                raise ValueError(f"default_rules.{key}: no rule pack defines "
                                 f"{', '.join(missing)}")
    out = []
    for group in groups:
        rules = []
        for rule in group.rules:
            if rule.alert in defaults.disable:
                continue
            change = defaults.override.get(rule.alert)
            if change is not None:
                rule = change.apply(rule)
                problems = validate_rule(rule)
                if problems:
                    raise ValueError(f"default_rules.override.{rule.alert}: "
                                     f"{'; '.join(problems)}")
            rules.append(rule)
        if rules:
            out.append(RuleGroup(group.name, rules, group.interval_ms, group.limit, group.file,
                                 group.pack))
    return out
