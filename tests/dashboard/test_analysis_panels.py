"""The analysis on the dashboard: the anomaly band (the stretches each chart's series were
scored anomalous, per panel) and the host dashboard's capacity table."""

from __future__ import annotations

import time

import pytest

starlette = pytest.importorskip("starlette")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from watchkeeper.dashboard import parse_dashboards  # noqa: E402

MINE = parse_dashboards([{"id": "mine", "rows": [{"panels": [
    {"title": "up", "expr": "sum(up)", "kind": "stat"},
    {"title": "load", "expr": "node_load1"},
    {"title": "queue", "expr": "sum by (queue) (queue_depth)"},
]}]}])


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from watchkeeper.dashboard.preview import preview_app
    from watchkeeper.tsdb import Store

    store = Store.open(tmp_path_factory.mktemp("band"))
    end = int(time.time()) // 60 * 60
    for k in range(60):  # one score a minute for an hour
        ts = (end - 3600 + k * 60) * 1000
        score = 0.8 if 20 <= k < 25 else 0.95 if k == 40 else 0.2
        store.append({"__name__": "watchkeeper:anomaly_score", "expr": "node_load1",
                      "metric": "node_load1", "instance": "a"}, ts, score)
        store.append({"__name__": "watchkeeper:anomaly_score", "expr": "other", "x": "1"},
                     ts, 0.9)
    store.commit()
    yield TestClient(preview_app(store, dashboards=MINE)), end
    store.close()


def test_each_panel_gets_the_stretches_its_series_were_anomalous(api):
    client, end = api
    r = client.get("/dashboards/mine/anomalies", params={"start": end - 3600, "end": end,
                                                         "step": 60})
    assert r.status_code == 200, r.text
    stat, load, queue = r.json()["data"]
    assert stat == [] and queue == []
    metric = {"__name__": "node_load1", "instance": "a"}
    start = end - 3600
    assert load == [{"metric": metric, "from": start + 20 * 60, "to": start + 24 * 60,
                     "score": 0.8},
                    {"metric": metric, "from": start + 40 * 60, "to": start + 40 * 60,
                     "score": 0.95}]


def test_bad_requests_are_4xx(api):
    client, end = api
    assert client.get("/dashboards/nope/anomalies",
                      params={"start": 1, "end": 2, "step": 1}).status_code == 404
    r = client.get("/dashboards/mine/anomalies", params={"start": end})
    assert r.status_code == 400 and "step" in r.json()["error"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(params=st.dictionaries(st.sampled_from(["start", "end", "step"]),
                              st.one_of(st.text(max_size=12), st.sampled_from(
                                  ["0", "-1", "1e308", "nan", "15s", "1", "99999999999"])),
                              max_size=3))
def test_no_input_gets_a_5xx(api, params):
    client, _ = api
    assert client.get("/dashboards/mine/anomalies", params=params).status_code < 500


RED_PIXELS = """(title) => {
    const canvas = document.querySelector(`.chart[data-panel="${title}"] canvas`);
    const ctx = canvas.getContext('2d');
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
        const near = (j, want) => Math.abs(px[i + j] - want) < 4;
        if (near(0, 239) && near(1, 68) && near(2, 68)) n++;
    }
    return n;
}"""


def test_the_band_is_shaded_on_the_chart_in_the_browser(tmp_path, page):
    from seed import seed_host

    from peers import free_port
    from watchkeeper.dashboard.preview import preview_app, run_in_thread
    from watchkeeper.tsdb import Store

    store = Store.open(tmp_path / "tsdb")
    now = int(time.time())
    seed_host(store, now, hours=1)
    for k in range(10):  # the last twenty minutes but ten, scored anomalous
        store.append({"__name__": "watchkeeper:anomaly_score", "expr": "node_load1",
                      "metric": "node_load1"}, (now - 1200 + k * 60) * 1000, 0.9)
    store.commit()
    server, url = run_in_thread(preview_app(store, dashboards=MINE), free_port())
    try:
        pg = page.page
        pg.goto(f"{url}/#/dashboards/mine")
        pg.wait_for_function("() => document.querySelector('.chart[data-panel=\"load\"]')"
                             "?.dataset.anomalies === '1'", timeout=20_000)
        pg.wait_for_timeout(200)  # the redraw after the band arrived
        assert pg.evaluate(RED_PIXELS, "load") > 50  # the strip along the top, at least
        # (a bare preview app has no /health, alerts or stream: their refusals are not the
        # band's)
        assert [e for e in page.errors if "uncaught" in e] == []
    finally:
        server.should_exit = True
        time.sleep(0.3)
        store.close()


def test_the_host_dashboard_shows_the_capacity_table(tmp_path, page):
    from seed import seed_host

    from peers import free_port
    from watchkeeper.analysis.watch import AnalysisWatch
    from watchkeeper.dashboard.preview import preview_app, run_in_thread
    from watchkeeper.promql.engine import Engine
    from watchkeeper.tsdb import Store

    store = Store.open(tmp_path / "tsdb")
    now = int(time.time())
    seed_host(store, now, hours=1)
    disk = {"mountpoint": "/data", "fstype": "ext4", "device": "sdb"}
    for ts in range(now - 2 * 86400, now + 1, 600):  # 60 GB used, 10 GB a day more
        used = 40e9 + 10e9 * (ts - now + 2 * 86400) / 86400
        store.append({"__name__": "node_filesystem_size_bytes", **disk}, ts * 1000, 100e9)
        store.append({"__name__": "node_filesystem_avail_bytes", **disk}, ts * 1000,
                     100e9 - used)
    store.commit()
    AnalysisWatch(store, Engine(store), []).capacity_tick(now * 1000)  # the server's timer
    server, url = run_in_thread(preview_app(store), free_port())
    try:
        pg = page.page
        pg.goto(f"{url}/#/dashboards/host")
        row = '.chart[data-panel="Capacity"] tr[data-row="/data"]'
        pg.wait_for_selector(row, timeout=20_000)
        cells = pg.eval_on_selector_all(f"{row} td", "(tds) => tds.map((t) => t.textContent)")
        assert cells[0] == "/data" and cells[1] == "60.0%"
        assert cells[2].endswith("GiB") and cells[3] == "4.0 d"  # 40 GB left at 10 GB a day
    finally:
        server.should_exit = True
        time.sleep(0.3)
        store.close()
