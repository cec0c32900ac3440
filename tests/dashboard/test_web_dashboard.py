"""The Web services dashboard's per-route table in the real browser: one row per route
template with its rate, error ratio, p50/p95/p99 and users, sortable by any column."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from peers import free_port
from watchkeeper.dashboard import builtin_dashboards, parse_dashboards

BOUNDS = ("0.05", "0.1", "0.5", "1", "2.5", "+Inf")
# route -> (requests/s answered 200, requests/s answered 500, share under each bound)
ROUTES = {
    "/orders/{order_id}": (9.0, 1.0, (0.2, 0.9, 1, 1, 1, 1)),
    "/search": (2.0, 0.0, (0, 0, 0.1, 0.5, 0.96, 1)),
    "/health": (0.5, 0.0, (1, 1, 1, 1, 1, 1)),
}


def seed(store, end_s: int) -> None:
    ts = np.arange(end_s - 3600, end_s + 1, 15, dtype=np.int64)
    t = (ts - ts[0]).astype(float)
    for route, (ok, failed, shares) in ROUTES.items():
        for code, rate in (("200", ok), ("500", failed)):
            if not rate:
                continue
            base = {"http_request_method": "GET", "http_route": route,
                    "http_response_status_code": code, "url_scheme": "http",
                    "error_type": "ZeroDivisionError" if code == "500" else "",
                    "job": "shop", "instance": "a"}
            name = "http_server_request_duration_seconds"
            store.append_array({**base, "__name__": name + "_count"}, ts * 1000, rate * t)
            for le, share in zip(BOUNDS, shares, strict=True):
                store.append_array({**base, "__name__": name + "_bucket", "le": le},
                                   ts * 1000, rate * share * t)
        users = {"__name__": "http_active_users_by_route", "http_route": route,
                 "window": "5m", "job": "shop", "instance": "a"}
        store.append_array(users, ts * 1000, np.full_like(t, len(route)))
    store.commit()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from streams import stream_routes

    from watchkeeper.alerting.evaluator import RuleEvaluator
    from watchkeeper.dashboard.preview import preview_app, run_in_thread
    from watchkeeper.health.runner import Runner
    from watchkeeper.promql.engine import Engine
    from watchkeeper.tsdb import Store

    store = Store.open(tmp_path_factory.mktemp("web") / "tsdb")
    seed(store, int(time.time()))
    runner = Runner()
    app = preview_app(store, runner=runner, evaluator=RuleEvaluator(store, Engine(store), []),
                      extra_routes=stream_routes(store, runner))
    server, url = run_in_thread(app, free_port())
    yield url
    server.should_exit = True
    time.sleep(0.3)
    store.close()


ROWS = """() => [...document.querySelectorAll('[data-panel="Routes (last 5 minutes)"] tbody tr')]
    .map((tr) => [tr.dataset.row,
                  ...[...tr.querySelectorAll('td.num')].map((td) => td.textContent)])"""


def test_the_route_table_shows_rate_errors_and_percentiles_and_sorts(served, page) -> None:
    pg = page.page
    pg.goto(f"{served}/#/dashboards/web")
    pg.wait_for_selector('[data-panel="Routes (last 5 minutes)"] tbody tr')
    headers = pg.eval_on_selector_all('[data-panel="Routes (last 5 minutes)"] th',
                                      "(ths) => ths.map((th) => th.textContent)")
    assert [h.rstrip(" ↓↑") for h in headers] == [
        "http_route", "Requests/s", "Error ratio", "p50", "p95", "p99", "In flight",
        "Users (5m)"]
    rows = pg.evaluate(ROWS)
    # busiest first; the route template, never a raw path
    assert [r[0] for r in rows] == ["/orders/{order_id}", "/search", "/health"]
    orders, search, health = rows
    assert orders[1] == "10.0 req/s" and orders[2] == "10.0%"
    assert search[2] == "0.0%" and health[2] == "0.0%"  # no 5xx: 0, not missing
    assert orders[7] == str(len("/orders/{order_id}"))  # users by route
    cell = pg.query_selector('[data-row="/orders/{order_id}"] td:nth-child(3)')
    assert "t-red" in cell.get_attribute("class")  # over the 5 % threshold

    def p95_order() -> list[str]:
        return [r[0] for r in pg.evaluate(ROWS)]

    pg.click('[data-panel="Routes (last 5 minutes)"] button[data-col="4"]')  # p95
    assert p95_order() == ["/search", "/orders/{order_id}", "/health"]
    pg.click('[data-panel="Routes (last 5 minutes)"] button[data-col="4"]')
    assert p95_order() == ["/health", "/orders/{order_id}", "/search"]
    pg.click('[data-panel="Routes (last 5 minutes)"] button[data-col="-1"]')  # by name
    assert p95_order() == ["/health", "/orders/{order_id}", "/search"]
    assert page.errors == []


def test_a_table_needs_columns_and_a_legend() -> None:
    from watchkeeper.dashboard import DashboardError

    def table(**panel):
        return [{"id": "t", "rows": [{"title": "r", "panels": [
            {"title": "T", "kind": "table", **panel}]}]}]

    with pytest.raises(DashboardError, match=r"columns: a table needs at least one column"):
        parse_dashboards(table(legend="{{a}}", columns=[]))
    with pytest.raises(DashboardError, match=r"legend: a table names its rows"):
        parse_dashboards(table(columns=[{"title": "x", "expr": "up"}]))
    with pytest.raises(DashboardError, match=r"columns\[0\]\.unit"):
        parse_dashboards(table(legend="{{a}}", columns=[{"title": "x", "expr": "up",
                                                         "unit": "furlongs"}]))
    with pytest.raises(DashboardError, match=r"only a table panel has columns"):
        parse_dashboards([{"id": "t", "rows": [{"title": "r", "panels": [
            {"title": "T", "expr": "up", "columns": [{"title": "x", "expr": "up"}]}]}]}])
    [ok] = parse_dashboards(table(legend="{{a}}", columns=[
        {"title": "x", "expr": "sum by (a) (up)", "unit": "short"}]))
    panel = ok.panels()[0]
    assert (panel.expr, panel.unit) == ("sum by (a) (up)", "short")  # the first column


def test_the_builtin_web_table_has_the_columns_the_issue_asks_for() -> None:
    [web] = [d for d in builtin_dashboards() if d.id == "web"]
    table = web.panels()[0]
    assert table.kind == "table" and table.legend == "{{http_route}}"
    assert [c.title for c in table.columns][:5] == [
        "Requests/s", "Error ratio", "p50", "p95", "p99"]
