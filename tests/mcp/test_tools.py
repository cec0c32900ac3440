"""The tools over a local store: small, exact answers, errors that name the bad part."""

import time

import numpy as np
import pytest

from watchkeeper.mcp import tools
from watchkeeper.mcp.backend import Backend, BackendError
from watchkeeper.mcp.shapes import size
from watchkeeper.mcp.status import status
from watchkeeper.tsdb.store import Store

NOW = int(time.time()) // 60 * 60 * 1000
MIN = 60_000


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    global NOW  # when the data is planted, not when the module was collected
    NOW = int(time.time()) // 60 * 60 * 1000
    path = tmp_path_factory.mktemp("mcp") / "data"
    ts = np.arange(NOW - 3 * 86400_000, NOW + 1, 5 * MIN, dtype=np.int64)
    rng = np.random.default_rng(0)
    with Store.open(path, background=False) as store:
        for route in range(300):  # many series: results must still fit
            store.append_array({"__name__": "http_requests_total", "route": f"/r{route}",
                                "code": "200"}, ts, np.cumsum(rng.integers(0, 10, len(ts))))
        lat = 0.1 + rng.normal(0, 0.005, len(ts))
        lat[-100:] += 0.2  # a latency step 100 points ago
        store.append_array({"__name__": "request_latency_seconds", "route": "/api"}, ts, lat)
        days = (ts - ts[0]) / 86400_000
        base = {"mountpoint": "/var", "fstype": "ext4", "device": "sda1"}
        store.append_array({"__name__": "node_filesystem_size_bytes", **base}, ts,
                           np.full(len(ts), 100e9))
        store.append_array({"__name__": "node_filesystem_avail_bytes", **base}, ts,
                           100e9 - (40e9 + 10e9 * days))  # 30 GB left at 10 GB/day: 3 days
        store.append_array({"__name__": "watchkeeper_health_status", "check": "db"}, ts,
                           np.zeros(len(ts)))
        store.append_array({"__name__": "watchkeeper:anomaly_score",  # as the server writes
                            "expr": "request_latency_seconds", "route": "/api",
                            "metric": "request_latency_seconds"}, ts, np.full(len(ts), 0.93))
        store.append_array({"__name__": "watchkeeper:anomaly_score", "expr": "up",
                            "metric": "up", "job": "calm"}, ts, np.full(len(ts), 0.1))
        store.append_array({"__name__": "ALERTS", "alertname": "DiskFilling",
                            "alertstate": "firing", "severity": "warning"}, ts,
                           np.ones(len(ts)))
    b = Backend.local(path)
    yield b
    b.close()


def test_query_summarises_each_series_within_budget(backend):
    out = tools.query(backend, "http_requests_total", start="now-1h")
    assert out["series_total"] == 300 and out["truncated"]
    assert size(out) <= 8192
    assert "sum by (code)" in out["narrow"] and "topk(10" in out["narrow"]
    first = out["series"][0]
    assert {"min", "avg", "max", "last", "p95", "spark", "slope_per_hour"} <= set(first)
    page2 = tools.query(backend, "http_requests_total", start="now-1h", cursor=out["cursor"])
    assert page2["series"][0]["series"] != first["series"]


def test_units_come_from_the_metric_name(backend):
    out = tools.query(backend, "request_latency_seconds")
    assert out["series"][0]["value"].endswith(" ms")


def test_an_empty_result_comes_with_hints(backend):
    out = tools.query(backend, "http_request_total")
    assert out["empty"] and "http_requests_total" in out["hints"]["nearest_metrics"]
    out = tools.query(backend, 'http_requests_total{route="/nope"}')
    assert out["empty"] and "/r1" in out["hints"]["label_values"]["route"]


def test_bad_promql_and_bad_times_name_the_problem(backend):
    with pytest.raises(tools.ToolError, match="parse error"):
        tools.query(backend, "rate(x[5m")
    with pytest.raises(tools.ToolError, match="not understood"):
        tools.query(backend, "up", start="last tuesday")
    with pytest.raises(tools.ToolError, match="shape"):
        tools.query(backend, "up", shape="pie")


def test_find_and_describe_metrics(backend):
    found = tools.find_metrics(backend, "requests")
    assert found["metrics"][0]["name"] == "http_requests_total"
    assert found["metrics"][0]["series"] == 300
    d = tools.describe_metric(backend, "http_requests_total")
    assert d["type"] == "counter" and d["labels"]["route"]["values"] == 300
    assert any("rate(http_requests_total[5m])" in i for i in d["idioms"])
    with pytest.raises(tools.ToolError, match="nearest"):
        tools.describe_metric(backend, "http_request_total")


def test_analysis_tools_find_the_planted_facts(backend):
    cap = tools.capacity(backend)["capacity"][0]
    assert cap["what"] == "/var" and cap["resource"] == "disk"
    assert cap["full_in_seconds"] / 86400 == pytest.approx(3, rel=0.2)
    step_at = (NOW - 99 * 5 * MIN) / 1000  # the first of the last 100 samples
    changed = tools.what_changed(backend, at=str(step_at), window="4h",
                                 match="request_latency_seconds")
    # within one scrape interval of the planted step
    assert changed["changes"][0]["changed_at"] == pytest.approx(step_at, abs=300)
    f = tools.forecast(backend, "node_filesystem_size_bytes - node_filesystem_avail_bytes",
                       horizon="4d", threshold=100e9, method="linear", lookback="3d")
    assert f["series"][0]["crosses_at"] is not None


def test_status_on_a_bare_store_uses_the_recorded_series(backend):
    out = status(backend)
    assert out["health"]["failing_checks"][0]["check"] == "db"
    assert out["alerts"]["firing"] == 1 and out["alerts"]["top"][0]["alert"] == "DiskFilling"
    assert out["capacity"][0]["what"] == "/var"
    assert out["anomalies"] == [{"series": 'request_latency_seconds{route="/api"}',
                                 "expr": "request_latency_seconds",
                                 "score": 0.93}]  # recorded scores at or over 0.5 only
    assert size(out) <= 2048


def test_a_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match="no store"):
        Backend.local(tmp_path / "none")


def _answer(b, expr, **args):  # type: ignore[no-untyped-def]
    try:
        return tools.query(b, expr, **args)
    except tools.ToolError as e:
        return f"error: {e}"


def test_queries_in_process_answer_as_the_api_does(backend):
    through_api = Backend(backend._client)  # the same routes, no engine: the JSON round trip
    assert backend.engine is not None and through_api.engine is None
    ago = lambda h: str(NOW / 1000 - h * 3600)  # noqa: E731 - the same times for both
    for args in ({"start": ago(1)}, {"start": ago(3), "shape": "points"},
                 {"start": ago(2), "shape": "table", "cursor": 7}, {"start": ago(1.3)},
                 {}, {"shape": "table", "cursor": 3}, {"shape": "points"}):
        for expr in ("http_requests_total", 'rate(http_requests_total{route=~"/r1.*"}[10m])',
                     "request_latency_seconds * 2", "sort_desc(http_requests_total)",
                     "sort(rate(http_requests_total[1h]))", "scalar(vector(3))",
                     "http_requests_total[10m]", "nothing_here"):
            ours, api = (_answer(b, expr, end=str(NOW / 1000), **args)
                         for b in (backend, through_api))
            assert ours == api, (expr, args)
    for start in ("now-1h", None):
        with pytest.raises(tools.ToolError, match="parse error"):
            tools.query(backend, "rate(x[5m", start=start)


def test_diagnose_names_what_changed_when_the_problem_began(backend):
    from datetime import UTC, datetime

    from watchkeeper.cli.mcp import _likely_cause

    began = datetime.fromtimestamp((NOW - 99 * 5 * MIN) / 1000, UTC).isoformat()
    overview = {"health": {"failing_checks": [{"check": "api", "since": began}]},
                "alerts": {"top": [{"alert": "Later", "since": "2999-01-01T00:00:00Z"}]}}
    cause = _likely_cause(backend, overview)
    assert cause["at"] == began  # the earliest start
    assert cause["changes"][0]["series"] == 'request_latency_seconds{route="/api"}'
    assert _likely_cause(backend, {"health": {"failing_checks": []},
                                   "alerts": {"top": []}}) is None


def test_diagnose_prints_what_runs_out_first(backend, capsys):
    from watchkeeper.cli.mcp import _render

    _render({**status(backend), "changed_around": None})
    out = capsys.readouterr().out
    assert "disk /var full in " in out


def test_a_rolled_up_hour_is_summarised_from_rollups_as_from_raw(tmp_path):
    from watchkeeper.mcp.engine_rows import range_rows
    from watchkeeper.mcp.shapes import default_grid
    from watchkeeper.promql.engine import Engine
    from watchkeeper.tsdb import rollup_cache

    day = int(time.time()) // 86400 * 86400 * 1000  # today's midnight: yesterday is closed
    ts = np.arange(day - 2 * 3600_000, day, 10_000, dtype=np.int64)
    rng = np.random.default_rng(1)
    with Store.open(tmp_path / "data", background=False) as store:
        for i in range(5):
            store.append_array({"__name__": "temp_celsius", "room": str(i)}, ts,
                               np.round(20 + rng.normal(0, 2, len(ts)), 2))
        store.append({"__name__": "temp_celsius", "room": "0"}, day + 1000, 20.0)
        store.maintain()  # yesterday gets its rollups
        b = Backend.of_store(store)
        end = day / 1000 - 600
        out = tools.query(b, "temp_celsius", start=str(end - 3600), end=str(end))
        assert out["step"] == "60 s" and rollup_cache.cached_bytes(store.db) > 0
        start, stop, step = default_grid(end - 3600, end)
        raw = range_rows(Engine(store, rollups=False), "temp_celsius", start, stop, step)
        assert out["series"] == [tools._summary(r["metric"], r["values"], "celsius")
                                 for r in raw]
        b.close()


def test_a_local_backend_left_open_never_holds_the_process_at_exit(backend, tmp_path):
    """A script that forgets close() still exits (the requests' event loop is a daemon)."""
    import subprocess
    import sys

    script = ("import sys; from watchkeeper.mcp.backend import Backend; "
              "from watchkeeper.mcp.status import status; "
              "b = Backend.local(sys.argv[1]); status(b); print('answered')")
    store = tmp_path / "open"
    with Store.open(store, background=False) as s:
        s.append_array({"__name__": "up"}, np.array([NOW]), np.array([1.0]))
    done = subprocess.run([sys.executable, "-c", script, str(store)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "answered" in done.stdout, done.stderr[-2000:]
