"""Grafana dashboard JSON: the same panels, laid out as Grafana expects, importable anywhere."""

from __future__ import annotations

import json

import pytest

from watchkeeper.dashboard.panels import builtin_dashboards, parse_dashboards
from watchkeeper.export.grafana import grafana_dashboard


def _cells(grid: dict[str, int]) -> set[tuple[int, int]]:
    return {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])}


@pytest.mark.parametrize("dashboard", builtin_dashboards(), ids=lambda d: d.id)
def test_every_panel_keeps_its_query_unit_and_thresholds(dashboard):
    doc = json.loads(json.dumps(grafana_dashboard(dashboard)))  # plain JSON all the way
    assert doc["schemaVersion"] >= 36
    assert doc["uid"] == f"watchkeeper-{dashboard.id}"
    [variable] = doc["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    charts = [p for p in doc["panels"] if p["type"] != "row"]
    rows = [p for p in doc["panels"] if p["type"] == "row"]
    assert [r["title"] for r in rows] == [r.title for r in dashboard.rows]
    assert len(charts) == len(dashboard.panels())
    for ours, theirs in zip(dashboard.panels(), charts, strict=True):
        assert theirs["title"] == ours.title
        assert theirs["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        if ours.kind == "table":
            _check_table(ours, theirs)
            continue
        [target] = theirs["targets"]
        assert (target["expr"], target["legendFormat"]) == (ours.expr, ours.legend)
        steps = theirs["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[0]["value"] is None  # Grafana's base step
        assert [s["value"] for s in steps[1:]] == [t.value for t in ours.thresholds]


def _check_table(ours, theirs) -> None:
    """A table: one instant query per column, merged, each value renamed to its column's
    title with its unit and thresholds."""
    assert theirs["type"] == "table"
    targets = theirs["targets"]
    assert [(t["expr"], t["legendFormat"], t["instant"], t["format"]) for t in targets] == [
        (c.expr, ours.legend, True, "table") for c in ours.columns]
    organize = next(t for t in theirs["transformations"] if t["id"] == "organize")
    renamed = organize["options"]["renameByName"]
    assert [renamed[f"Value #{t['refId']}"] for t in targets] == [c.title for c in ours.columns]
    assert theirs["transformations"][0]["id"] == "merge"
    for column, override in zip(ours.columns, theirs["fieldConfig"]["overrides"],
                                strict=True):
        props = {p["id"]: p["value"] for p in override["properties"]}
        assert [s["value"] for s in props["thresholds"]["steps"][1:]] == [
            t.value for t in column.thresholds]


def test_a_table_panel_exports_as_a_grafana_table():
    [d] = parse_dashboards([{"id": "t", "rows": [{"title": "r", "panels": [
        {"title": "Routes", "kind": "table", "legend": "{{http_route}}", "columns": [
            {"title": "Requests/s", "expr": "sum by (http_route) (rate(x[5m]))",
             "unit": "reqps"},
            {"title": "p95", "expr": "histogram_quantile(0.95, sum by (http_route, le) "
                                     "(rate(x_bucket[5m])))", "unit": "seconds",
             "thresholds": [{"value": 1, "color": "red"}]}]}]}]}])
    [table] = [p for p in grafana_dashboard(d)["panels"] if p["type"] != "row"]
    _check_table(d.panels()[0], table)
    units = [o["properties"][0]["value"] for o in table["fieldConfig"]["overrides"]]
    assert units == ["reqps", "s"]
    assert table["gridPos"]["w"] == 24  # alone in its row: the full width


@pytest.mark.parametrize("dashboard", builtin_dashboards(), ids=lambda d: d.id)
def test_layout_fits_the_24_column_grid_without_overlap_and_ids_are_unique(dashboard):
    panels = grafana_dashboard(dashboard)["panels"]
    taken: set[tuple[int, int]] = set()
    for p in panels:
        grid = p["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
        cells = _cells(grid)
        assert not cells & taken, f"{p['title']} overlaps another panel"
        taken |= cells
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))


def test_units_and_stat_panels_map_to_grafanas_names():
    [d] = parse_dashboards([{"id": "x", "rows": [{"title": "r", "panels": [
        {"title": "lat", "expr": "up", "unit": "seconds"},
        {"title": "n", "expr": "sum(up)", "kind": "stat", "unit": "status"}]}]}])
    lat, n = [p for p in grafana_dashboard(d, datasource_uid="abc")["panels"]
              if p["type"] != "row"]
    assert lat["fieldConfig"]["defaults"]["unit"] == "s"
    assert n["type"] == "stat" and n["targets"][0]["instant"] is True
    assert n["fieldConfig"]["defaults"]["mappings"][0]["options"]["1"]["text"] == "up"
    assert lat["datasource"] == {"type": "prometheus", "uid": "abc"}
    assert grafana_dashboard(d, datasource_uid="abc")["templating"]["list"] == []


def test_exported_queries_run_on_watchkeepers_own_promql():
    parse = pytest.importorskip("watchkeeper.promql.parser").parse
    for d in builtin_dashboards():
        for p in grafana_dashboard(d)["panels"]:
            for target in p.get("targets", []):
                parse(target["expr"])
