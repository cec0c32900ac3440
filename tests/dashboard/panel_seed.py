"""Data for any panel: every series a panel's query selects, made up from the query itself.

So a test can draw every built-in panel, including the ones a monitor ships in
``builtin.d/*.yaml`` later, without a seed written for each: each selector's metric gets a
series carrying the labels its matchers ask for, the labels the panel's legend names, and
(for ``*_bucket``) a few ``le`` bounds; values rise steadily, so rates are positive.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from watchkeeper.promql.ast import BinaryExpr, NumberLiteral, ParenExpr, VectorSelector
from watchkeeper.promql.parser import parse

_TEMPLATE = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
_GUESSES = ("a", "0", "eth0", "sda", "/", "ext4", "ok", "idle", "200", "GET", "1")


def selectors(node: Any) -> Iterator[VectorSelector]:
    if isinstance(node, VectorSelector):
        yield node
    elif dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            yield from selectors(getattr(node, f.name))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from selectors(item)


_SATISFY = {"==": 0, ">=": 0, "<=": 0, ">": 1, "!=": 1, "<": -1}
_FLIPPED = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}


def constants(node: Any) -> dict[str, float]:
    """Metric name -> a constant value meeting a filter such as ``running == 1``."""
    out: dict[str, float] = {}
    if isinstance(node, BinaryExpr) and node.op in _SATISFY and not node.return_bool:
        for sel, num, op in ((node.lhs, node.rhs, node.op),
                             (node.rhs, node.lhs, _FLIPPED[node.op])):
            while isinstance(sel, ParenExpr):
                sel = sel.expr
            if isinstance(sel, VectorSelector) and isinstance(num, NumberLiteral) and sel.name:
                out[sel.name] = num.value + _SATISFY[op]
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            out.update(constants(getattr(node, f.name)))
    elif isinstance(node, list | tuple):
        for item in node:
            out.update(constants(item))
    return out


def _value(matcher: Any) -> str:
    if matcher.op == "=":
        return matcher.value
    candidates = [*(part.strip("^$()") for part in matcher.value.split("|")), *_GUESSES]
    for guess in candidates:
        if guess and matcher.matches(guess):
            return guess
    return "x-" + matcher.value


def panel_series(expr: str, legend: str) -> dict[tuple[tuple[str, str], ...], str]:
    """Label sets (without bucket bounds) -> metric name, for one panel's query."""
    found = list(selectors(parse(expr)))
    shared = {name: f"{name}-1" for name in _TEMPLATE.findall(legend)}
    for sel in found:  # one label set for the whole panel, so binary operations match
        for m in sel.matchers:
            if m.name != "__name__":
                shared.setdefault(m.name, _value(m))
    out = {}
    for sel in found:
        name = sel.name or next((m.value for m in sel.matchers if m.name == "__name__"
                                 and m.op == "="), None)
        if not name:
            continue
        labels = dict(shared)
        for m in sel.matchers:
            if m.name != "__name__" and not m.matches(labels.get(m.name, "")):
                labels[m.name] = _value(m)
        labels.pop("le", None)
        out[tuple(sorted({**labels, "__name__": name}.items()))] = name
    return out


def seed_panels(store: Any, dashboards: list[Any], end_s: int, hours: float = 2,
                step_s: int = 15) -> int:
    """Series for every panel's metrics the store does not hold yet; returns how many."""
    known = {labels.metric_name for labels in store.series([])}
    ts = np.arange(end_s - int(hours * 3600), end_s + 1, step_s, dtype=np.int64)
    t = (ts - ts[0]).astype(float)
    wanted: dict[tuple[tuple[str, str], ...], str] = {}
    fixed: dict[str, float] = {}
    for dashboard in dashboards:
        for panel in dashboard.panels():
            for expr in [panel.expr, *(c.expr for c in panel.columns)]:  # a table's columns
                wanted.update(panel_series(expr, panel.legend))
                fixed.update(constants(parse(expr)))
    # every series of a metric carries every label some panel groups it by (as real data
    # does: a request series has both its route and its status), so no panel sums a
    # series that lacks its legend's label
    names: dict[str, set[str]] = {}
    for labels, name in wanted.items():
        names.setdefault(name, set()).update(k for k, _ in labels)
    wanted = {tuple(sorted({**{k: f"{k}-1" for k in names[name]}, **dict(labels)}.items())):
              name for labels, name in wanted.items()}
    seeded = 0
    for labels, name in wanted.items():
        if name in known:
            continue
        bounds = ("0.1", "1", "+Inf") if name.endswith("_bucket") else (None,)
        for i, le in enumerate(bounds):
            extra = {} if le is None else {"le": le}
            values = (np.full_like(t, fixed[name]) if name in fixed else
                      1 + t * (0.2 + 0.4 * i) * (1.2 + np.sin(t / 600)) / 2)
            store.append_array({**dict(labels), **extra}, ts * 1000, values)
            seeded += 1
    store.commit()
    return seeded
