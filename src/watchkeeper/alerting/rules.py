"""Prometheus rule files: load them unchanged, validate them as ``promtool check rules`` does.

Why our own YAML walk: errors must name the file, line and rule, so the file is read as a
node tree (with positions) and turned into plain dataclasses by hand, rejecting unknown
fields and duplicate keys as Prometheus's strict YAML decoding does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from watchkeeper.alerting.templates import TemplateError, check_template
from watchkeeper.promql import PromQLError, parse

_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_GROUP_FIELDS = {"name", "interval", "limit", "rules"}
_RULE_FIELDS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations",
                "anomaly", "capacity"}


class RuleFileError(Exception):
    """Every problem found in one rule file, each naming line and rule."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


@dataclass
class Rule:
    """One alerting rule (``alert`` set) or recording rule (``record`` set)."""

    expr: str
    alert: str = ""
    record: str = ""
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    line: int = 0
    anomaly: Any = None  # an AnomalySpec: scored by robust z-score instead of expr alone
    capacity: Any = None  # a CapacitySpec: disks full within a horizon (capacity_rule.py)

    @property
    def name(self) -> str:
        return self.alert or self.record

    @property
    def is_alerting(self) -> bool:
        return bool(self.alert)


@dataclass
class RuleGroup:
    name: str
    rules: list[Rule]
    interval_ms: int | None = None  # None: the global evaluation interval
    limit: int = 0
    file: str = ""
    pack: str = ""  # the rule pack it came from ("" for a user's rule file)


def parse_duration_ms(text: str) -> int:
    """Prometheus's model.Duration: ``1h30m``, ``5m``, ``250ms``, ``0``."""
    if text == "0":
        return 0
    m = _DURATION.fullmatch(text)
    if not text or not m:
        raise ValueError(f'not a valid duration string: "{text}"')
    return sum(int(v) * unit for v, unit in zip(m.groups(), _UNITS_MS, strict=True) if v)


def format_duration_ms(ms: int) -> str:
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in zip(("y", "w", "d", "h", "m", "s", "ms"), _UNITS_MS, strict=True):
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


class _Walker:
    def __init__(self, path: str) -> None:
        self.path, self.problems = path, []

    def fail(self, node: yaml.Node | None, message: str) -> None:
        where = f"{node.start_mark.line + 1}:{node.start_mark.column + 1}: " if node else ""
        self.problems.append(where + message)

    def mapping(self, node: yaml.Node, allowed: set[str], kind: str) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"cannot unmarshal {_tag(node)} into {kind}")
            return {}
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            if name in out:
                self.fail(key, f'mapping key "{name}" already defined')
            elif name not in allowed:
                self.fail(key, f"field {name} not found in type {kind}")
            else:
                out[name] = value
        return out

    def scalar(self, node: yaml.Node | None, what: str) -> str:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return ""
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, f"cannot unmarshal {_tag(node)} into {what}")
            return ""
        return node.value

    def duration(self, node: yaml.Node | None, what: str) -> int:
        text = self.scalar(node, what)
        if not text:
            return 0
        try:
            return parse_duration_ms(text)
        except ValueError as e:
            self.fail(node, str(e))
            return 0

    def string_map(self, node: yaml.Node | None, what: str) -> dict[str, str]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"cannot unmarshal {_tag(node)} into {what}")
            return {}
        out: dict[str, str] = {}
        for key, value in node.value:
            name = self.scalar(key, what)
            if name in out:
                self.fail(key, f'mapping key "{name}" already defined')
            out[name] = self.scalar(value, what)
        return out


def _tag(node: yaml.Node) -> str:
    return {"MappingNode": "!!map", "SequenceNode": "!!seq"}.get(
        type(node).__name__, node.tag.rsplit(":", 1)[-1] if node.tag else "value")


def load_rule_text(text: str, path: str = "<rules>") -> list[RuleGroup]:
    """Parse and validate a rule file's text; raises RuleFileError listing every problem."""
    walker = _Walker(path)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}: " if mark else ""
        raise RuleFileError(path, [f"{where}yaml: {getattr(e, 'problem', e)}"]) from None
    groups: list[RuleGroup] = []
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null")):
        return groups
    top = walker.mapping(root, {"groups"}, "rulefmt.RuleGroups")
    group_nodes = top.get("groups")
    if group_nodes is not None and not isinstance(group_nodes, yaml.SequenceNode):
        if not (isinstance(group_nodes, yaml.ScalarNode) and group_nodes.tag.endswith(":null")):
            walker.fail(group_nodes, "cannot unmarshal groups into []rulefmt.RuleGroup")
        group_nodes = None
    seen: set[str] = set()
    for gnode in group_nodes.value if group_nodes is not None else []:
        group = _load_group(walker, gnode, path)
        if group is None:
            continue
        if not group.name:
            walker.fail(gnode, "Groupname must not be empty")
        elif group.name in seen:
            walker.fail(gnode, f'groupname: "{group.name}" is repeated in the same file')
        seen.add(group.name)
        groups.append(group)
    if walker.problems:
        raise RuleFileError(path, walker.problems)
    return groups


def _load_group(walker: _Walker, node: yaml.Node, path: str) -> RuleGroup | None:
    fields = walker.mapping(node, _GROUP_FIELDS, "rulefmt.RuleGroup")
    if not fields and not isinstance(node, yaml.MappingNode):
        return None
    name = walker.scalar(fields.get("name"), "string")
    interval = walker.duration(fields.get("interval"), "model.Duration") \
        if "interval" in fields else None
    limit_text = walker.scalar(fields.get("limit"), "int") or "0"
    limit = int(limit_text) if limit_text.lstrip("-").isdigit() else 0
    if not limit_text.lstrip("-").isdigit():
        walker.fail(fields.get("limit"), f"cannot unmarshal {limit_text!r} into int")
    rules: list[Rule] = []
    rules_node = fields.get("rules")
    if isinstance(rules_node, yaml.SequenceNode):
        for index, rnode in enumerate(rules_node.value):
            rule = _load_rule(walker, rnode, name, index)
            if rule is not None:
                rules.append(rule)
    elif rules_node is not None and not (isinstance(rules_node, yaml.ScalarNode)
                                         and rules_node.tag.endswith(":null")):
        walker.fail(rules_node, "cannot unmarshal rules into []rulefmt.RuleNode")
    return RuleGroup(name, rules, interval or None, limit, path)


def _load_rule(walker: _Walker, node: yaml.Node, group: str, index: int) -> Rule | None:
    fields = walker.mapping(node, _RULE_FIELDS, "rulefmt.RuleNode")
    if not isinstance(node, yaml.MappingNode):
        return None
    rule = Rule(expr=walker.scalar(fields.get("expr"), "string"),
                alert=walker.scalar(fields.get("alert"), "string"),
                record=walker.scalar(fields.get("record"), "string"),
                for_ms=walker.duration(fields.get("for"), "model.Duration"),
                keep_firing_for_ms=walker.duration(fields.get("keep_firing_for"),
                                                   "model.Duration"),
                labels=walker.string_map(fields.get("labels"), "map[string]string"),
                annotations=walker.string_map(fields.get("annotations"), "map[string]string"),
                line=node.start_mark.line + 1)
    where = f'group "{group}", rule {index + 1}, "{rule.name}"'
    if "anomaly" in fields:
        _load_anomaly(walker, fields["anomaly"], rule, where)
    if "capacity" in fields:
        _load_capacity(walker, fields["capacity"], rule, where)
    for problem in validate_rule(rule, fields):
        at = (fields.get("expr") or node) if "expr" in problem else node
        walker.fail(at, f"{where}: {problem}")
    return rule


def _load_anomaly(walker: _Walker, node: yaml.Node, rule: Rule, where: str) -> None:
    """Our extension: ``anomaly: {expr, window, step, threshold, direction}``, or
    ``anomaly: {expr, min_score, for}`` for the streaming scorer."""
    from watchkeeper.alerting.anomaly import AnomalySpec

    config = walker.string_map(node, "anomaly")
    if not rule.alert:
        walker.fail(node, f"{where}: anomaly is only for alerting rules")
        return
    try:
        rule.anomaly = AnomalySpec.from_config(config)
    except (ValueError, PromQLError) as e:
        walker.fail(node, f"{where}: anomaly: {e}")
        return
    if not rule.expr:
        rule.expr = rule.anomaly.expr
    if rule.anomaly.for_ms and not rule.for_ms:
        rule.for_ms = rule.anomaly.for_ms


def _load_capacity(walker: _Walker, node: yaml.Node, rule: Rule, where: str) -> None:
    """Our extension: ``capacity: {within: 24h}`` (capacity_rule.py)."""
    from watchkeeper.alerting.capacity_rule import CAPACITY_EXPR, CapacitySpec, read_config

    config = read_config(walker, node)
    if not rule.alert or rule.anomaly is not None:
        walker.fail(node, f"{where}: capacity is only for alerting rules without anomaly")
        return
    try:
        rule.capacity = CapacitySpec.from_config(config)
    except ValueError as e:
        walker.fail(node, f"{where}: capacity: {e}")
        return
    rule.expr = rule.expr or CAPACITY_EXPR


def validate_rule(rule: Rule, present: dict[str, yaml.Node] | None = None) -> list[str]:
    """What rulefmt (and promtool) reject in one rule, as its messages say it."""
    present = present or {}
    problems: list[str] = []
    if rule.record and rule.alert:
        problems.append("only one of 'record' and 'alert' must be set")
    if not rule.record and not rule.alert:
        problems.append("one of 'record' or 'alert' must be set")
    if not rule.expr:
        problems.append("field 'expr' must be set in rule")
    else:
        try:
            parse(rule.expr)
        except PromQLError as e:
            problems.append(f"could not parse expression: {e}")
    if rule.record:
        for name in ("annotations", "for", "keep_firing_for"):
            if name in present:
                problems.append(f"invalid field '{name}' in recording rule")
        if not _METRIC_NAME.fullmatch(rule.record):
            problems.append(f"invalid recording rule name: {rule.record}")
    for name in rule.labels:
        if not _LABEL_NAME.fullmatch(name) or name == "__name__":
            problems.append(f"invalid label name: {name}")
    for name in rule.annotations:
        if not _LABEL_NAME.fullmatch(name):
            problems.append(f"invalid annotation name: {name}")
    if rule.alert:
        for kind, mapping in (("label", rule.labels), ("annotation", rule.annotations)):
            for name, text in mapping.items():
                try:
                    check_template(text, f"__alert_{rule.alert}")
                except TemplateError as e:
                    problems.append(f"{kind} {name!r}: template: {e}")
    return problems


def load_rule_file(path: str | Path) -> list[RuleGroup]:
    """Read and validate one rule file (RuleFileError on any problem, OSError if unreadable)."""
    text = Path(path).read_text(encoding="utf-8", errors="strict")
    return load_rule_text(text, str(path))


def load_rule_files(paths: list[str | Path]) -> list[RuleGroup]:
    """Every group of every file (globs expanded as Prometheus's ``rule_files`` does)."""
    groups: list[RuleGroup] = []
    for pattern in paths:
        matches = sorted(Path().glob(str(pattern))) if any(c in str(pattern) for c in "*?[") \
            else [Path(pattern)]
        if str(pattern).startswith("/") and any(c in str(pattern) for c in "*?["):
            root = Path("/")
            matches = sorted(root.glob(str(pattern).lstrip("/")))
        for path in matches:
            groups.extend(load_rule_file(path))
    return groups
