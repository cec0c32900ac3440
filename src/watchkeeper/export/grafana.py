"""Grafana dashboard JSON for watchkeeper's dashboards, for a Prometheus data source
pointed at watchkeeper (its ``/api/v1`` answers as Prometheus does).

The data source is a template variable, so the file imports into any Grafana and the
user picks the watchkeeper data source once; ``datasource_uid`` fixes it instead.
"""

from __future__ import annotations

from typing import Any

from watchkeeper.dashboard.panels import Column, Dashboard, Panel

SCHEMA_VERSION = 39
GRID_WIDTH = 24
PANEL_HEIGHT = 8

# our units -> Grafana's unit ids
UNITS = {"": "none", "percent": "percent", "percentunit": "percentunit", "bytes": "bytes",
         "Bps": "Bps", "bps": "bps", "seconds": "s", "ms": "ms", "reqps": "reqps",
         "ops": "ops", "short": "short", "celsius": "celsius", "status": "none"}

STATUS_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "down", "color": "red", "index": 0},
    "0.5": {"text": "degraded", "color": "orange", "index": 1},
    "1": {"text": "up", "color": "green", "index": 2}}}]


def _datasource(uid: str | None) -> dict[str, str]:
    return {"type": "prometheus", "uid": uid or "${datasource}"}


def _thresholds(panel: Panel | Column) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [{"color": t.color, "value": t.value} for t in panel.thresholds]
    return {"mode": "absolute", "steps": steps}


def _table_panel(panel: Panel, panel_id: int, grid: dict[str, int],
                 datasource_uid: str | None) -> dict[str, Any]:
    """A table: one instant query per column, merged on their labels (Grafana's ``merge``
    transformation), each value column renamed to its title with its own unit."""
    refs = [chr(ord("A") + i) for i in range(len(panel.columns))]
    names = {f"Value #{ref}": column.title for ref, column in zip(refs, panel.columns,
                                                                    strict=True)}
    overrides = [{"matcher": {"id": "byName", "options": f"Value #{ref}"},
                  "properties": [{"id": "unit", "value": UNITS.get(column.unit, "none")},
                                 {"id": "thresholds", "value": _thresholds(column)},
                                 {"id": "custom.cellOptions",
                                  "value": {"type": "color-text"}}]}
                 for ref, column in zip(refs, panel.columns, strict=True)]
    return {
        "id": panel_id, "type": "table", "title": panel.title,
        "datasource": _datasource(datasource_uid), "gridPos": grid,
        "targets": [{"refId": ref, "expr": column.expr, "legendFormat": panel.legend,
                     "instant": True, "range": False, "format": "table",
                     "datasource": _datasource(datasource_uid)}
                    for ref, column in zip(refs, panel.columns, strict=True)],
        "transformations": [{"id": "merge", "options": {}},
                            {"id": "organize", "options": {
                                "excludeByName": {"Time": True}, "renameByName": names}}],
        "fieldConfig": {"defaults": {"unit": "none"}, "overrides": overrides},
        "options": {"showHeader": True, "cellHeight": "sm",
                    "sortBy": [{"displayName": panel.columns[0].title, "desc": True}]},
    }


def grafana_panel(panel: Panel, panel_id: int, grid: dict[str, int],
                  datasource_uid: str | None = None) -> dict[str, Any]:
    """One Grafana panel (timeseries, stat or table) with the same queries, units and
    thresholds."""
    if panel.kind == "table":
        return _table_panel(panel, panel_id, grid, datasource_uid)
    defaults: dict[str, Any] = {"unit": UNITS.get(panel.unit, "none"),
                                "thresholds": _thresholds(panel)}
    if panel.min is not None:
        defaults["min"] = panel.min
    if panel.max is not None:
        defaults["max"] = panel.max
    if panel.unit == "status":
        defaults["mappings"] = STATUS_MAPPINGS
    if panel.kind == "timeseries" and panel.thresholds:
        defaults["custom"] = {"thresholdsStyle": {"mode": "dashed"}}
    out: dict[str, Any] = {
        "id": panel_id,
        "type": "stat" if panel.kind == "stat" else "timeseries",
        "title": panel.title,
        "datasource": _datasource(datasource_uid),
        "gridPos": grid,
        "targets": [{"refId": "A", "expr": panel.expr, "legendFormat": panel.legend,
                     "range": panel.kind != "stat", "instant": panel.kind == "stat",
                     "datasource": _datasource(datasource_uid)}],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"showLegend": True, "displayMode": "list",
                               "placement": "bottom"},
                    "tooltip": {"mode": "multi", "sort": "none"}},
    }
    if panel.kind == "stat":
        out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                            "values": False},
                          "colorMode": "value", "graphMode": "area"}
    return out


def grafana_dashboard(dashboard: Dashboard, datasource_uid: str | None = None,
                      refresh: str = "30s") -> dict[str, Any]:
    """A whole dashboard: one collapsible Grafana row per row, panels three across."""
    panels: list[dict[str, Any]] = []
    next_id = 1
    y = 0
    for row in dashboard.rows:
        panels.append({"id": next_id, "type": "row", "title": row.title, "collapsed": False,
                       "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y}, "panels": []})
        next_id += 1
        y += 1
        per_line = min(3, max(1, len(row.panels)))
        width = GRID_WIDTH // per_line
        for i, panel in enumerate(row.panels):
            grid = {"h": PANEL_HEIGHT, "w": width, "x": (i % per_line) * width,
                    "y": y + (i // per_line) * PANEL_HEIGHT}
            panels.append(grafana_panel(panel, next_id, grid, datasource_uid))
            next_id += 1
        y += -(-len(row.panels) // per_line) * PANEL_HEIGHT
    templating: list[dict[str, Any]] = []
    if datasource_uid is None:
        templating.append({"name": "datasource", "label": "Data source", "type": "datasource",
                           "query": "prometheus", "current": {}, "hide": 0,
                           "refresh": 1, "options": [], "regex": ""})
    return {
        "uid": f"watchkeeper-{dashboard.id}"[:40],
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["watchkeeper", *dashboard.tags],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": refresh,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": templating},
        "annotations": {"list": []},
        "panels": panels,
    }
