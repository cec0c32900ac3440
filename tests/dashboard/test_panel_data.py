"""One request for every panel of a dashboard answers exactly as /api/v1 does per panel."""

from __future__ import annotations

import time

import pytest

starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from watchkeeper.dashboard import dashboard_app, parse_dashboards  # noqa: E402

MINE = parse_dashboards([{"id": "mine", "rows": [{"panels": [
    {"title": "load", "expr": "node_load1"},
    {"title": "broken", "expr": "rate(node_load1"},
    {"title": "targets up", "expr": "sum(up)", "kind": "stat"},
    {"title": "cpu", "expr": 'sum by (mode) (rate(node_cpu_seconds_total{mode!="idle"}[1m]))'},
]}]}])


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from seed import seed_host

    from watchkeeper.dashboard.preview import preview_app
    from watchkeeper.tsdb import Store

    store = Store.open(tmp_path_factory.mktemp("panel-data"))
    end = int(time.time())
    seed_host(store, end, hours=2)
    yield TestClient(preview_app(store, dashboards=MINE)), end
    store.close()


def test_each_panel_answers_as_its_own_prometheus_query_in_panel_order(api):
    client, end = api
    window = {"start": end - 3600, "end": end, "step": 60}
    r = client.get("/dashboards/mine/query", params=window)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["status"] == "success"
    load, broken, stat, cpu = body["data"]
    assert load == client.get("/api/v1/query_range",
                              params={"query": "node_load1", **window}).json()
    assert load["data"]["result"][0]["values"]
    assert cpu == client.get("/api/v1/query_range", params={
        "query": MINE[0].panels()[3].expr, **window}).json()
    assert {s["metric"]["mode"] for s in cpu["data"]["result"]} == {"user", "system"}
    # a stat panel is an instant query at the end of the range
    assert stat == client.get("/api/v1/query",
                              params={"query": "sum(up)", "time": end}).json()
    # one broken panel is that panel's error, not the dashboard's
    assert broken["status"] == "error" and broken["errorType"] == "bad_data"


def test_the_answer_is_gzipped_for_clients_that_take_it(api):
    client, end = api
    window = {"start": end - 3600, "end": end, "step": 60}
    packed = client.get("/dashboards/mine/query", params=window,
                        headers={"accept-encoding": "gzip"})
    plain = client.get("/dashboards/mine/query", params=window,
                       headers={"accept-encoding": "identity"})
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert packed.json() == plain.json()  # the client decoded it


def test_bad_ranges_are_each_panels_prometheus_error(api):
    client, end = api
    r = client.get("/dashboards/mine/query", params={"start": end, "end": end - 60, "step": 15})
    errors = {p["error"] for p in r.json()["data"] if p["status"] == "error"}
    assert any("end timestamp must not be before start time" in e for e in errors)


def test_unknown_dashboard_and_missing_parameters_are_clear_errors(api):
    client, _ = api
    r = client.get("/dashboards/nope/query", params={"start": 1, "end": 2, "step": 1})
    assert r.status_code == 404 and "nope" in r.json()["error"]
    r = client.get("/dashboards/mine/query", params={"start": 1})
    assert r.status_code == 400
    assert r.json()["error"] == "missing parameter(s): end, step"


def test_without_a_query_api_every_panel_says_so():
    client = TestClient(dashboard_app(MINE))
    body = client.get("/dashboards/mine/query", params={"start": 1, "end": 2, "step": 1}).json()
    assert [p["errorType"] for p in body["data"]] == ["not_found"] * 4
    assert "/api/v1/query_range is not served here" in body["data"][0]["error"]


def test_a_table_answers_each_column_as_an_instant_query_at_the_end(tmp_path):
    from seed import seed_host

    from watchkeeper.dashboard.preview import preview_app
    from watchkeeper.tsdb import Store

    [table] = parse_dashboards([{"id": "t", "rows": [{"panels": [
        {"title": "modes", "kind": "table", "legend": "{{mode}}", "columns": [
            {"title": "rate", "expr": "sum by (mode) (rate(node_cpu_seconds_total[5m]))"},
            {"title": "broken", "expr": "sum by (mode) (rate(node_cpu_seconds_total"}]},
    ]}]}])
    store = Store.open(tmp_path / "tsdb")
    end = int(time.time())
    seed_host(store, end, hours=1)
    try:
        client = TestClient(preview_app(store, dashboards=[table]))
        body = client.get("/dashboards/t/query",
                          params={"start": end - 3600, "end": end, "step": 60}).json()
        [answer] = body["data"]
        assert answer["status"] == "success" and answer["data"]["resultType"] == "table"
        rate, broken = answer["data"]["columns"]
        assert rate == client.get("/api/v1/query", params={
            "query": table.panels()[0].columns[0].expr, "time": end}).json()
        assert rate["data"]["result"]
        assert broken["status"] == "error"  # that column's error, not the table's
    finally:
        store.close()
