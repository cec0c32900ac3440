"""``watchkeeper export grafana-dashboard``: stdout, files, configured dashboards, errors."""

from __future__ import annotations

import json

import pytest

click_testing = pytest.importorskip("click.testing")

from watchkeeper.cli.main import cli  # noqa: E402


def run(*args: str):
    return click_testing.CliRunner().invoke(cli, ["export", "grafana-dashboard", *args])


def test_one_dashboard_goes_to_stdout_as_grafana_json():
    result = run("host")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["title"] == "Host"
    assert any("node_cpu_seconds_total" in t["expr"] for p in doc["panels"]
               for t in p.get("targets", []))


def test_all_dashboards_to_a_directory_one_file_each(tmp_path):
    result = run("-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    from watchkeeper.dashboard import builtin_dashboards

    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    ids = [d.id for d in builtin_dashboards()]
    assert {"host", "process", "targets"} <= set(ids)  # each monitor adds its own
    assert names == sorted(f"watchkeeper-{i}.json" for i in ids)


def test_configured_dashboards_export_too(tmp_path):
    path = tmp_path / "d.yml"
    path.write_text("dashboards:\n  - id: api\n    rows:\n      - panels:\n"
                    "          - {title: rps, expr: 'sum(rate(http_requests_total[5m]))'}\n")
    result = run("-f", str(path), "api", "-o", str(tmp_path / "api.json"))
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "api.json").read_text())
    assert doc["panels"][1]["targets"][0]["expr"] == "sum(rate(http_requests_total[5m]))"


def test_the_serve_configs_dashboards_export_as_served(tmp_path):
    config = tmp_path / "watchkeeper.yml"
    config.write_text("dashboards:\n  - id: api\n    title: API\n    rows:\n"
                      "      - panels: [{title: up, expr: up}]\n")
    result = run("-c", str(config), "api")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["title"] == "API"
    config.write_text("dashboards:\n  - id: api\n")
    result = run("-c", str(config))
    assert result.exit_code != 0 and f"{config}:2:" in result.output


def test_unknown_dashboard_and_bad_yaml_are_clear_errors(tmp_path):
    result = run("nope")
    assert result.exit_code != 0 and "no dashboard 'nope'" in result.output
    bad = tmp_path / "bad.yml"
    bad.write_text("dashboards: [{id: x, rows: [{panels: [{title: t}]}]}]\n")
    result = run("-f", str(bad))
    assert result.exit_code != 0 and "missing 'expr'" in result.output
    assert "Traceback" not in result.output
