"""Alertmanager's inhibition rules: a firing source alert mutes matching targets.

A target is muted while some firing alert matches the source matchers, has equal values
for every ``equal`` label, and is not itself the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from watchkeeper.alerting.routing import matches_all, parse_matchers
from watchkeeper.tsdb.matchers import Matcher


@dataclass
class InhibitRule:
    source: list[Matcher]
    target: list[Matcher]
    equal: list[str]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> InhibitRule:
        source = parse_matchers({"matchers": config.get("source_matchers"),
                                 "match": config.get("source_match"),
                                 "match_re": config.get("source_match_re")})
        target = parse_matchers({"matchers": config.get("target_matchers"),
                                 "match": config.get("target_match"),
                                 "match_re": config.get("target_match_re")})
        return cls(source, target, [str(x) for x in config.get("equal") or []])


def inhibited(labels: Mapping[str, str], firing: Iterable[Mapping[str, str]],
              rules: list[InhibitRule]) -> bool:
    """Is an alert with ``labels`` muted by one of the currently ``firing`` alerts?"""
    candidates = [r for r in rules if matches_all(r.target, labels)]
    if not candidates:
        return False
    for source in firing:
        if source == labels:
            continue
        for rule in candidates:
            if matches_all(rule.source, source) and all(
                    source.get(name, "") == labels.get(name, "") for name in rule.equal):
                if matches_all(rule.target, source) and matches_all(rule.source, labels):
                    continue  # an alert matching both sides does not mute its twin
                return True
    return False
