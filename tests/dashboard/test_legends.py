"""Every built-in chart, walked in the real browser: drawn from data, each series named by a
human legend (never the panel's query, never a raw series), with a unit. Panels a monitor
adds in ``dashboard/builtin.d/*.yaml`` are walked too, with data made up from their queries."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from peers import free_port
from watchkeeper.dashboard import builtin_dashboards

RAW_SERIES = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*\{.*\}$|^\{\}$")
PANELS = """() => [...document.querySelectorAll('figure.panel')].map((f) => {
    const box = f.querySelector('.chart');
    return {title: f.querySelector('figcaption').textContent,
            drawn: box.dataset.drawn ?? null,
            error: (box.querySelector('.error') || {}).textContent || null,
            legends: [...box.querySelectorAll('.series-name')].map((e) => e.textContent)};
})"""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from panel_seed import seed_panels
    from seed import seed_host
    from streams import stream_routes

    from watchkeeper.alerting.evaluator import RuleEvaluator
    from watchkeeper.dashboard.preview import preview_app, run_in_thread
    from watchkeeper.health.runner import Runner
    from watchkeeper.promql.engine import Engine
    from watchkeeper.tsdb import Store

    store = Store.open(tmp_path_factory.mktemp("legends") / "tsdb")
    now = int(time.time())
    seed_host(store, now)
    seed_panels(store, builtin_dashboards(), now)
    runner = Runner()
    app = preview_app(store, runner=runner, evaluator=RuleEvaluator(store, Engine(store), []),
                      extra_routes=stream_routes(store, runner))
    server, url = run_in_thread(app, free_port())
    yield url
    server.should_exit = True
    time.sleep(0.3)
    store.close()


def _problems(dashboard: Any, shown: list[dict[str, Any]]) -> list[str]:
    out = []
    for panel, got in zip(dashboard.panels(), shown, strict=True):
        where = f"{dashboard.id} / {panel.title}"
        if not panel.unit:
            out.append(f"{where}: no unit (the axis would show bare numbers)")
        if got["error"]:
            out.append(f"{where}: {got['error']}")
        elif got["drawn"] in (None, "0"):
            out.append(f"{where}: nothing drawn from data its own query selects")
        if panel.kind == "stat":
            continue
        if not got["legends"] and got["drawn"] not in (None, "0"):
            out.append(f"{where}: no legend")
        for name in got["legends"]:
            if not name.strip() or name.strip() == panel.expr.strip():
                out.append(f"{where}: the legend is the query {panel.expr!r}; give `legend:`")
            elif RAW_SERIES.match(name):
                out.append(f"{where}: the legend is a raw series {name!r}; give `legend:`")
    return out


@pytest.mark.parametrize("dashboard", builtin_dashboards(), ids=lambda d: d.id)
def test_every_builtin_panel_has_a_human_legend_and_a_unit(seeded, page, dashboard):
    pg = page.page
    count = len(dashboard.panels())
    pg.goto(f"{seeded}/#/dashboards/{dashboard.id}")
    pg.wait_for_function(
        "(n) => [...document.querySelectorAll('figure.panel .chart')].filter((b) =>"
        " b.dataset.drawn !== undefined || b.querySelector('.error')).length >= n", arg=count)
    shown = pg.evaluate(PANELS)
    assert [s["title"] for s in shown] == [p.title for p in dashboard.panels()]
    assert _problems(dashboard, shown) == []
    assert page.errors == []


def test_the_walk_catches_a_legend_that_is_the_query():
    from watchkeeper.dashboard import parse_dashboards

    [bad] = parse_dashboards([{"id": "bad", "title": "Bad", "rows": [{"title": "r", "panels": [
        {"title": "sum", "expr": "sum(x)", "unit": "short"},
        {"title": "raw", "expr": "x", "unit": ""}]}]}])
    shown = [{"title": "sum", "drawn": "1", "error": None, "legends": ["sum(x)"]},
             {"title": "raw", "drawn": "1", "error": None, "legends": ['x{job="a"}']}]
    assert _problems(bad, shown) == [
        "bad / sum: the legend is the query 'sum(x)'; give `legend:`",
        "bad / raw: no unit (the axis would show bare numbers)",
        "bad / raw: the legend is a raw series 'x{job=\"a\"}'; give `legend:`"]
