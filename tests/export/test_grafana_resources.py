"""The resources dashboard exported for Grafana: the eleven panels users expect, and a
document that satisfies the required fields of Grafana's dashboard model (no schema file is
available offline, so the model's required fields and types are checked here)."""

from __future__ import annotations

import json
from pathlib import Path

from watchkeeper.dashboard.panels import builtin_dashboards
from watchkeeper.export.grafana import grafana_dashboard

EXPORTED = Path(__file__).parents[2] / "examples" / "grafana" / "resources.json"
EXPECTED = [
    "Request latency P50 / P95 / P99", "Throughput", "Cache hit rate by tier",
    "Pool connections used, idle and waiting", "Breaker status", "Memory of the service",
    "Breaker failure rate", "System health score", "Pool health scores",
    "Cache health scores", "Breaker health scores"]


def _resources() -> dict:
    [d] = [d for d in builtin_dashboards() if d.id == "resources"]
    return json.loads(json.dumps(grafana_dashboard(d)))


def _check_panel(p: dict) -> None:
    assert isinstance(p["type"], str) and p["type"]
    assert isinstance(p["id"], int) and p["id"] > 0
    grid = p["gridPos"]
    assert all(isinstance(grid[k], int) for k in ("h", "w", "x", "y"))
    assert 0 < grid["w"] <= 24 and grid["h"] > 0
    if p["type"] == "row":
        assert isinstance(p["collapsed"], bool) and isinstance(p["panels"], list)
        return
    assert set(p["fieldConfig"]) == {"defaults", "overrides"}
    assert isinstance(p["fieldConfig"]["overrides"], list)
    assert p["datasource"]["type"] == "prometheus"
    for t in p["targets"]:
        assert isinstance(t["refId"], str) and t["refId"] and t["expr"]
    steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert p["fieldConfig"]["defaults"]["thresholds"]["mode"] in ("absolute", "percentage")
    assert all(set(s) == {"color", "value"} for s in steps)


def test_the_eleven_panels_with_units_and_legends() -> None:
    doc = _resources()
    panels = {p["title"]: p for p in doc["panels"] if p["type"] != "row"}
    assert set(EXPECTED) <= set(panels)
    for title in EXPECTED:
        p = panels[title]
        defaults = p["fieldConfig"]["defaults"]
        assert defaults["unit"] != "none" or defaults.get("mappings"), title  # status: words
        assert p["targets"][0]["legendFormat"], title


def test_the_document_has_grafanas_required_dashboard_fields() -> None:
    doc = _resources()
    assert isinstance(doc["title"], str) and doc["title"]
    assert isinstance(doc["uid"], str) and 0 < len(doc["uid"]) <= 40
    assert isinstance(doc["schemaVersion"], int) and doc["schemaVersion"] >= 36
    assert isinstance(doc["editable"], bool)
    assert doc["graphTooltip"] in (0, 1, 2)
    assert set(doc["time"]) == {"from", "to"}
    assert isinstance(doc["tags"], list) and all(isinstance(t, str) for t in doc["tags"])
    for var in doc["templating"]["list"]:
        assert var["name"] and var["type"] in ("datasource", "query", "custom", "constant")
    assert isinstance(doc["annotations"]["list"], list)
    for p in doc["panels"]:
        _check_panel(p)


def test_the_shipped_json_is_the_current_export() -> None:
    assert json.loads(EXPORTED.read_text()) == _resources()
