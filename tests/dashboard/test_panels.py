"""Dashboard YAML: what loads, and errors that name the key path at fault."""

from __future__ import annotations

import pytest

from watchkeeper.dashboard.panels import (
    DashboardError,
    builtin_dashboards,
    load_dashboards,
    parse_dashboards,
)


def test_builtins_cover_host_process_and_targets_with_valid_panels():
    dashboards = {d.id: d for d in builtin_dashboards()}
    assert {"host", "process", "targets"} <= set(dashboards)  # monitors add their own
    host = dashboards["host"].panels()
    assert len(host) == 13
    [capacity] = [p for p in host if p.kind == "table"]  # the analysis room's records
    assert [c.expr for c in capacity.columns][1:] == [
        'watchkeeper:growth_per_day{resource="disk"}',
        'watchkeeper:time_until_full_seconds{resource="disk"}']
    assert all(p.expr for p in host)
    assert any("node_cpu_seconds_total" in p.expr for p in host)


def test_builtin_queries_parse_as_promql():
    parse = pytest.importorskip("watchkeeper.promql.parser").parse
    for d in builtin_dashboards():
        for p in d.panels():
            parse(p.expr)


def test_a_yaml_file_loads_with_thresholds_sorted(tmp_path):
    path = tmp_path / "d.yml"
    path.write_text("""
dashboards:
  - id: api
    title: API
    rows:
      - title: Traffic
        panels:
          - title: Requests
            expr: sum(rate(http_requests_total[5m]))
            unit: reqps
            thresholds: [{value: 500, color: red}, 100]
""")
    [d] = load_dashboards(path)
    panel = d.rows[0].panels[0]
    assert (d.id, panel.unit) == ("api", "reqps")
    assert [(t.value, t.color) for t in panel.thresholds] == [(100.0, "red"), (500.0, "red")]


@pytest.mark.parametrize(("doc", "message"), [
    ([{"id": "a", "rows": [{"panels": [{"title": "x"}]}]}],
     "[0].rows[0].panels[0]: missing 'expr'"),
    ([{"id": "a", "rows": [{"panels": [{"title": "x", "expr": "up", "unit": "furlongs"}]}]}],
     "panels[0].unit: 'furlongs'"),
    ([{"id": "a b", "rows": []}], ".id: 'a b'"),
    ([{"id": "a", "rows": []}, {"id": "a", "rows": []}], "defined twice"),
    ([{"id": "a", "rows": [{"panels": [{"title": "x", "expr": "up", "colour": 1}]}]}],
     "unknown key(s) colour"),
    ({"dashboards": "nope"}, "expected a list"),
])
def test_bad_definitions_say_where(doc, message):
    with pytest.raises(DashboardError) as err:
        parse_dashboards(doc)
    assert message in str(err.value)


def test_unreadable_yaml_names_the_file(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("dashboards: [\n")
    with pytest.raises(DashboardError, match=r"bad\.yml"):
        load_dashboards(path)


def test_config_key_takes_inline_dashboards_and_file_globs(tmp_path):
    from watchkeeper.dashboard.panels import dashboards_from_config

    (tmp_path / "dash").mkdir()
    for name in ("a", "b"):
        (tmp_path / "dash" / f"{name}.yml").write_text(
            f"- id: {name}\n  rows: [{{panels: [{{title: t, expr: up}}]}}]\n")
    inline = {"id": "c", "rows": [{"panels": [{"title": "t", "expr": "up"}]}]}
    got = dashboards_from_config(["dash/*.yml", inline], tmp_path)
    assert [d.id for d in got] == ["a", "b", "c"]
    assert dashboards_from_config(None) == []
    with pytest.raises(DashboardError, match="no file matches"):
        dashboards_from_config(["missing/*.yml"], tmp_path)
    with pytest.raises(DashboardError, match="defined twice"):
        dashboards_from_config(["dash/a.yml", "dash/a.yml"], tmp_path)
