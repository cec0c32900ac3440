"""Alertmanager's route tree: which receivers get an alert, and how it is grouped.

Config has Alertmanager's shape (``receiver``, ``group_by``, ``group_wait``,
``group_interval``, ``repeat_interval``, ``matchers``/``match``/``match_re``,
``continue``, ``routes``); children inherit what they do not set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.alerting.rules import parse_duration_ms
from watchkeeper.tsdb.matchers import Matcher

_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|'
                      r"([^,\"'{}]*?))\s*$")


class RoutingConfigError(ValueError):
    """A route or matcher that cannot be used; says which."""


def parse_matcher(text: str) -> Matcher:
    """One Alertmanager matcher string: ``severity="critical"``, ``team=~"a|b"``, ``env!=prod``."""
    m = _MATCHER.match(text)
    if not m:
        raise RoutingConfigError(f"bad matcher {text!r}")
    name, op, quoted, bare = m.groups()
    value = quoted if quoted is not None else (bare or "")
    value = re.sub(r"\\(.)", lambda x: {"n": "\n"}.get(x.group(1), x.group(1)), value)
    try:
        return Matcher(name, op, value)
    except ValueError as e:
        raise RoutingConfigError(str(e)) from None


def parse_matchers(config: Mapping[str, Any]) -> list[Matcher]:
    """``matchers`` (strings, possibly ``{a="b",c=~"d"}``), ``match`` and ``match_re``."""
    out: list[Matcher] = []
    for item in config.get("matchers") or []:
        text = str(item).strip()
        if text.startswith("{") and text.endswith("}"):
            parts = [p for p in _split_commas(text[1:-1]) if p.strip()]
            out.extend(parse_matcher(p) for p in parts)
        else:
            out.append(parse_matcher(text))
    out.extend(Matcher(k, "=", str(v)) for k, v in (config.get("match") or {}).items())
    out.extend(Matcher(k, "=~", str(v)) for k, v in (config.get("match_re") or {}).items())
    return out


def _split_commas(text: str) -> list[str]:
    parts, depth_quote, current = [], False, []
    for i, c in enumerate(text):
        if c == '"' and (i == 0 or text[i - 1] != "\\"):
            depth_quote = not depth_quote
        if c == "," and not depth_quote:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def matches_all(matchers: list[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels.get(m.name, "")) for m in matchers)


@dataclass
class Route:
    receiver: str
    group_by: list[str] = field(default_factory=list)  # ["..."] groups by every label
    group_wait_ms: int = 30_000
    group_interval_ms: int = 300_000
    repeat_interval_ms: int = 4 * 3_600_000
    matchers: list[Matcher] = field(default_factory=list)
    continue_: bool = False
    routes: list[Route] = field(default_factory=list)
    path: str = "{}"
    # names of time intervals (time_intervals.py); a route's own, not inherited
    mute_time_intervals: list[str] = field(default_factory=list)
    active_time_intervals: list[str] = field(default_factory=list)

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert ends at, walking the tree as Alertmanager does."""
        if not matches_all(self.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            hits = child.match(labels)
            found.extend(hits)
            if hits and not child.continue_:
                break
        return found or [self]

    def group_key(self, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        if "..." in self.group_by:
            group = dict(labels)
        else:
            group = {k: labels[k] for k in self.group_by if labels.get(k)}
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(group.items()))
        return f"{self.path}:{{{inner}}}", group


def build_route(config: Mapping[str, Any], parent: Route | None = None,
                path: str = "{}") -> Route:
    """A route (and its children) from Alertmanager-shaped config."""
    known = {"receiver", "group_by", "group_wait", "group_interval", "repeat_interval",
             "matchers", "match", "match_re", "continue", "routes", "mute_time_intervals",
             "active_time_intervals"}
    unknown = set(config) - known
    if unknown:
        raise RoutingConfigError(f"route {path}: unknown field(s) {sorted(unknown)}")

    def duration(name: str, inherited: int) -> int:
        if name not in config:
            return inherited
        try:
            return parse_duration_ms(str(config[name]))
        except ValueError as e:
            raise RoutingConfigError(f"route {path}: {name}: {e}") from None

    receiver = config.get("receiver") or (parent.receiver if parent else "")
    if not receiver:
        raise RoutingConfigError("root route must name a receiver")
    matchers = parse_matchers(config)
    route = Route(
        receiver=str(receiver),
        group_by=list(config.get("group_by", parent.group_by if parent else [])),
        group_wait_ms=duration("group_wait", parent.group_wait_ms if parent else 30_000),
        group_interval_ms=duration("group_interval",
                                   parent.group_interval_ms if parent else 300_000),
        repeat_interval_ms=duration("repeat_interval",
                                    parent.repeat_interval_ms if parent else 4 * 3_600_000),
        matchers=matchers, continue_=bool(config.get("continue", False)), path=path,
        mute_time_intervals=_names(config, "mute_time_intervals", path),
        active_time_intervals=_names(config, "active_time_intervals", path))
    for i, child in enumerate(config.get("routes") or []):
        inner = ",".join(str(m) for m in parse_matchers(child))
        route.routes.append(build_route(child, route, f"{path}/{i}{{{inner}}}"))
    return route


def _names(config: Mapping[str, Any], key: str, path: str) -> list[str]:
    names = config.get(key) or []
    if isinstance(names, str) or not isinstance(names, list):
        raise RoutingConfigError(f"route {path}: {key}: expected a list of interval names")
    return [str(n) for n in names]
