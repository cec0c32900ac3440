"""The operations page in a real browser: running operations with progress bars, recent ones,
kept errors shown as inert text, served from GET /api/v1/operations over a real store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.routing import Route

from peers import free_port
from watchkeeper import CollectorRegistry
from watchkeeper.integrations.bulk import OPERATIONS, Operation
from watchkeeper.integrations.bulk_health import COLLECTOR

EVIL = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture(scope="module")
def operations_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from watchkeeper.dashboard.preview import preview_app, run_in_thread
    from watchkeeper.promql.engine import Engine
    from watchkeeper.server.ingest import family_samples
    from watchkeeper.server.routes_operations import make_route
    from watchkeeper.tsdb import Store

    OPERATIONS.clear()
    clock = SimpleNamespace(t=1000.0)
    running = Operation("import_users", total=1000, report=None, stall_after=60,
                        clock=lambda: clock.t)
    running.ok(400)
    running.sample()
    stuck = Operation("reindex", total=50, report=None, stall_after=30, clock=lambda: clock.t)
    stuck.ok(10)
    stuck.sample()
    done = Operation("nightly_export", total=20, report=None)
    done.ok(18)
    done.fail(ValueError(EVIL), item="row-7")
    done.fail(KeyError("email"), item="row-9")
    done.finish()
    clock.t += 10
    running.ok(100)
    running.sample()
    clock.t += 30
    stuck.sample()
    registry = CollectorRegistry()
    registry.register(COLLECTOR)
    store = Store.open(tmp_path_factory.mktemp("ops") / "tsdb")
    now = int(time.time() * 1000)
    for labels, ts, value in family_samples(registry.collect(),
                                            {"job": "watchkeeper", "instance": "local"}, now):
        store.append(labels, ts, value)
    store.commit()
    route = Route("/api/v1/operations", make_route(SimpleNamespace(engine=Engine(store))))
    server, url = run_in_thread(preview_app(store, extra_routes=[route]), free_port())
    yield url
    server.should_exit = True
    time.sleep(0.3)
    store.close()
    OPERATIONS.clear()


def _rows(pg: Any, section: str) -> list[str]:
    return pg.eval_on_selector_all(f"[data-section={section}] tbody tr",
                                   "rows => rows.map(r => r.dataset.operation)")


def test_running_and_recent_operations_with_progress_and_errors(operations_server, page):
    pg = page.page
    pg.goto(operations_server + "/#/operations")
    pg.wait_for_selector("[data-section=running] tr[data-operation=import_users]")
    assert sorted(_rows(pg, "running")) == ["import_users", "reindex"]
    assert _rows(pg, "recent") == ["nightly_export"]
    bar = pg.get_attribute("tr[data-operation=import_users] progress", "value")
    assert float(bar) == pytest.approx(0.5)
    assert "50.0%" in pg.inner_text("tr[data-operation=import_users]")
    assert "stalled" in pg.inner_text("tr[data-operation=reindex]")
    assert "stalled" not in pg.inner_text("tr[data-operation=import_users]")
    recent = pg.inner_text("[data-section=recent] tr[data-operation=nightly_export]")
    times = "\u00d7"  # the multiplication sign the page writes before each count
    assert f"ValueError {times}1" in recent and f"KeyError {times}1" in recent
    assert "2 failed" in recent
    errors = pg.inner_text(".op-errors")
    assert EVIL in errors and "item row-7" in errors  # shown as text, never run
    assert pg.evaluate("() => window.__pwned") is None
    assert pg.get_attribute("#nav a.active", "href") == "#/operations"
    # this minimal server has no stream: only the page's own errors count
    assert [e for e in page.errors if e.startswith("uncaught") or "operations" in e] == []
