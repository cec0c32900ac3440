"""Dashboards defined in YAML: rows of panels, each a PromQL query with a unit and thresholds.

The same definitions feed the web page (as JSON) and the Grafana export, so a panel looks
alike in both. A few dashboards are built in (host, the watchkeeper process, scrape
targets); a config file adds more or replaces a built-in one by reusing its ``id``::

    dashboards:
      - id: api
        title: API service
        rows:
          - title: Traffic
            panels:
              - title: Requests per second
                expr: sum by (code) (rate(http_requests_total[5m]))
                unit: reqps
                legend: "{{code}}"
                thresholds: [{value: 100, color: orange}, {value: 500, color: red}]

A ``kind: table`` panel shows one row per series and one column per instant query, rows
named by ``legend`` and matched across columns by that name (a per-route table: rate,
error ratio, percentiles)::

              - title: Routes
                kind: table
                legend: "{{http_route}}"
                columns:
                  - {title: Requests/s, expr: "sum by (http_route) (rate(...[5m]))", unit: reqps}
                  - {title: p95, expr: "histogram_quantile(0.95, ...)", unit: seconds}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

UNITS = ("", "percent", "percentunit", "bytes", "Bps", "bps", "seconds", "ms", "reqps",
         "ops", "short", "celsius", "status")
COLORS = ("green", "yellow", "orange", "red", "blue", "purple")


class DashboardError(ValueError):
    """A dashboard definition that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Threshold:
    value: float
    color: str = "red"


@dataclass(frozen=True)
class Column:
    """One column of a table panel: an instant query, its unit and thresholds."""

    title: str
    expr: str
    unit: str = ""
    thresholds: tuple[Threshold, ...] = ()


@dataclass(frozen=True)
class Panel:
    title: str
    expr: str  # a table's first column
    unit: str = ""
    legend: str = ""
    kind: str = "timeseries"  # or "stat", "table"
    min: float | None = None
    max: float | None = None
    thresholds: tuple[Threshold, ...] = ()
    columns: tuple[Column, ...] = ()  # a table's columns


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    id: str
    title: str
    rows: tuple[Row, ...]
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def panels(self) -> list[Panel]:
        return [p for row in self.rows for p in row.panels]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DashboardError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise DashboardError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _text(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise DashboardError(f"{where}: missing {key!r}")
    if not isinstance(value, str):
        raise DashboardError(f"{where}.{key}: expected text, got {type(value).__name__}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DashboardError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _threshold(data: Any, where: str) -> Threshold:
    if isinstance(data, int | float) and not isinstance(data, bool):
        return Threshold(float(data))
    data = _mapping(data, where)
    color = _text(data, "color", where, "red")
    if color not in COLORS:
        raise DashboardError(f"{where}.color: {color!r} is not one of {', '.join(COLORS)}")
    return Threshold(_number(data.get("value"), f"{where}.value"), color)


def _unit(data: dict[str, Any], where: str) -> str:
    unit = _text(data, "unit", where, "")
    if unit not in UNITS:
        raise DashboardError(f"{where}.unit: {unit!r} is not one of {', '.join(UNITS[1:])}")
    return unit


def _expr(data: dict[str, Any], where: str) -> str:
    expr = _text(data, "expr", where).strip()
    if not expr:
        raise DashboardError(f"{where}.expr: empty query")
    return expr


def _thresholds(data: dict[str, Any], where: str) -> tuple[Threshold, ...]:
    thresholds = (_threshold(t, f"{where}.thresholds[{i}]") for i, t in
                  enumerate(_list(data.get("thresholds", []), f"{where}.thresholds")))
    return tuple(sorted(thresholds, key=lambda t: t.value))


def _column(data: Any, where: str) -> Column:
    data = _mapping(data, where)
    unknown = set(data) - {"title", "expr", "unit", "thresholds"}
    if unknown:
        raise DashboardError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return Column(_text(data, "title", where), _expr(data, where), _unit(data, where),
                  _thresholds(data, where))


def _panel(data: Any, where: str) -> Panel:
    data = _mapping(data, where)
    unknown = set(data) - {"title", "expr", "unit", "legend", "kind", "min", "max",
                           "thresholds", "columns"}
    if unknown:
        raise DashboardError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    kind = _text(data, "kind", where, "timeseries")
    if kind not in ("timeseries", "stat", "table"):
        raise DashboardError(f"{where}.kind: {kind!r} is not timeseries, stat or table")
    columns: tuple[Column, ...] = ()
    if kind == "table":
        columns = tuple(_column(c, f"{where}.columns[{i}]") for i, c in
                        enumerate(_list(data.get("columns"), f"{where}.columns")))
        if not columns:
            raise DashboardError(f"{where}.columns: a table needs at least one column")
        if not _text(data, "legend", where, "").strip():
            raise DashboardError(f"{where}.legend: a table names its rows by a legend "
                                 "such as \"{{http_route}}\"")
        data = {"expr": columns[0].expr, "unit": columns[0].unit, **data}
    elif "columns" in data:
        raise DashboardError(f"{where}.columns: only a table panel has columns")
    bounds = {k: _number(data[k], f"{where}.{k}") for k in ("min", "max") if
              data.get(k) is not None}
    return Panel(_text(data, "title", where), _expr(data, where), _unit(data, where),
                 _text(data, "legend", where, ""), kind, bounds.get("min"), bounds.get("max"),
                 _thresholds(data, where), columns)


def parse_dashboard(data: Any, where: str = "dashboard") -> Dashboard:
    """One dashboard from its parsed YAML mapping; errors name the offending key path."""
    data = _mapping(data, where)
    ident = _text(data, "id", where)
    if not ident or not all(c.isalnum() or c in "-_" for c in ident):
        raise DashboardError(f"{where}.id: {ident!r} must be letters, digits, - or _")
    rows = []
    for i, row in enumerate(_list(data.get("rows"), f"{where}.rows")):
        row_where = f"{where}.rows[{i}]"
        row = _mapping(row, row_where)
        panels = tuple(_panel(p, f"{row_where}.panels[{j}]") for j, p in
                       enumerate(_list(row.get("panels"), f"{row_where}.panels")))
        rows.append(Row(_text(row, "title", row_where, ""), panels))
    tags = tuple(str(t) for t in _list(data.get("tags", []), f"{where}.tags"))
    return Dashboard(ident, _text(data, "title", where, ident), tuple(rows),
                     _text(data, "description", where, ""), tags)


def parse_dashboards(data: Any, source: str = "dashboards") -> list[Dashboard]:
    """Dashboards from a YAML document: ``{dashboards: [...]}`` or a bare list."""
    if isinstance(data, dict) and "dashboards" in data:
        data = data["dashboards"]
    items = _list(data, source)
    dashboards = [parse_dashboard(d, f"{source}[{i}]") for i, d in enumerate(items)]
    seen: set[str] = set()
    for d in dashboards:
        if d.id in seen:
            raise DashboardError(f"{source}: dashboard id {d.id!r} defined twice")
        seen.add(d.id)
    return dashboards


def load_dashboards(path: str | Path) -> list[Dashboard]:
    """Dashboards from a YAML file, with errors naming the file."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise DashboardError(f"{path}: {e}") from None
    return parse_dashboards(data if data is not None else [], str(path))


def builtin_dashboards() -> list[Dashboard]:
    """The dashboards every install has: host, the watchkeeper process, scrape targets
    (``builtin.yaml``), then each monitor's own (``builtin.d/*.yaml``, in name order), so a
    monitor ships its panels beside its code without touching the others'."""
    import yaml

    here = Path(__file__).parent
    out: list[Dashboard] = []
    for path in [here / "builtin.yaml", *sorted((here / "builtin.d").glob("*.yaml"))]:
        name = path.relative_to(here).as_posix()
        out.extend(parse_dashboards(yaml.safe_load(path.read_text(encoding="utf-8")), name))
    return out


def all_dashboards(extra: list[Dashboard] | None = None) -> list[Dashboard]:
    """Built-ins followed by configured ones; a configured id replaces the built-in."""
    merged = {d.id: d for d in builtin_dashboards()}
    for d in extra or []:
        merged[d.id] = d
    return list(merged.values())


def dashboards_from_config(value: Any, base_dir: str | Path | None = None) -> list[Dashboard]:
    """The config's ``dashboards:`` key: inline dashboards, file paths (globs allowed,
    relative to the config's directory), or a mix; None means none."""
    if value is None:
        return []
    items = _list(value, "dashboards")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    out: list[Dashboard] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            pattern = Path(item) if Path(item).is_absolute() else base / item
            matches = sorted(pattern.parent.glob(pattern.name))
            if not matches:
                raise DashboardError(f"dashboards[{i}]: no file matches {item!r}")
            for path in matches:
                out.extend(load_dashboards(path))
        else:
            out.append(parse_dashboard(item, f"dashboards[{i}]"))
    seen: set[str] = set()
    for d in out:
        if d.id in seen:
            raise DashboardError(f"dashboards: dashboard id {d.id!r} defined twice")
        seen.add(d.id)
    return out
