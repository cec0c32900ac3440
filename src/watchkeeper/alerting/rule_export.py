"""Rule groups back to a Prometheus rule file, for ``watchkeeper export rules``.

Why not dump the loaded YAML: overrides change rules after loading, and several files and
packs merge into one file, where Prometheus wants every group name once.
"""

from __future__ import annotations

from typing import Any

import yaml

from watchkeeper.alerting.rules import Rule, RuleGroup, format_duration_ms


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (expressions, descriptions) as ``|`` blocks."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def rule_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"alert": rule.alert} if rule.alert else {"record": rule.record}
    out["expr"] = rule.expr
    if rule.alert:
        out["for"] = format_duration_ms(rule.for_ms)
        if rule.keep_firing_for_ms:
            out["keep_firing_for"] = format_duration_ms(rule.keep_firing_for_ms)
    if rule.labels:
        out["labels"] = dict(rule.labels)
    if rule.alert and rule.annotations:
        out["annotations"] = dict(rule.annotations)
    return out


def rule_file_text(groups: list[RuleGroup]) -> tuple[str, list[str]]:
    """The file's text and what was left out (anomaly rules are ours, not Prometheus's);
    a group name seen before gets a ``-2``, ``-3``... suffix."""
    seen: set[str] = set()
    skipped: list[str] = []
    out = []
    for group in groups:
        name, n = group.name, 1
        while name in seen:
            n += 1
            name = f"{group.name}-{n}"
        seen.add(name)
        rules = []
        for rule in group.rules:
            if rule.anomaly is not None:
                skipped.append(f"{group.name}/{rule.name}: anomaly rules have no Prometheus form")
                continue
            if rule.capacity is not None:
                skipped.append(f"{group.name}/{rule.name}: capacity rules have no Prometheus "
                               "form")
                continue
            rules.append(rule_dict(rule))
        item: dict[str, Any] = {"name": name}
        if group.interval_ms:
            item["interval"] = format_duration_ms(group.interval_ms)
        if group.limit:
            item["limit"] = group.limit
        item["rules"] = rules
        out.append(item)
    text = yaml.dump({"groups": out}, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=100)
    return text, skipped
