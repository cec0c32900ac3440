"""A real server for the page (store, PromQL API, health, rule evaluator) and a real
headless chromium driving it."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peers import free_port, require_binary

RULES = """
groups:
  - name: dashboard-test
    interval: 1s
    rules:
      - alert: DiskOnFire
        expr: wk_trigger > 0
        labels:
          severity: critical
          team: "<b>ops</b>"
        annotations:
          summary: "<img src=x onerror=window.__pwned=1>"
      - alert: StreamProbe
        expr: wk_stream_probe > 0
"""


@dataclass
class Served:
    url: str
    store: Any
    evaluator: Any
    history: Any
    thresholds: Any
    silences: Any
    runner: Any
    server: Any = field(repr=False, default=None)

    def fire(self, trigger: str = "wk_trigger") -> None:
        """Make DiskOnFire (or the alert on ``trigger``) fire now, not on the next tick."""
        self.store.append({"__name__": trigger}, int(time.time() * 1000), 1.0)
        self.store.commit()
        self.evaluator.evaluate_all()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from seed import seed_host
    from standin import targets_routes
    from streams import stream_routes

    from watchkeeper.alerting.delivery import Delivery
    from watchkeeper.alerting.evaluator import RuleEvaluator
    from watchkeeper.alerting.history import AlertHistory
    from watchkeeper.alerting.manage_api import incident_routes, threshold_routes
    from watchkeeper.alerting.notify import notification_routes
    from watchkeeper.alerting.rules import load_rule_text
    from watchkeeper.alerting.rules_api import active_alerts
    from watchkeeper.alerting.silences import SilenceStore
    from watchkeeper.alerting.silences_api import silences_routes
    from watchkeeper.alerting.thresholds import Threshold, ThresholdStore
    from watchkeeper.dashboard.preview import preview_app, run_in_thread
    from watchkeeper.health.check import function_check
    from watchkeeper.health.runner import Runner
    from watchkeeper.promql.engine import Engine
    from watchkeeper.tsdb import Store

    def evil() -> None:
        raise RuntimeError("<img src=x onerror=window.__pwned=1>")

    tmp = tmp_path_factory.mktemp("served")
    store = Store.open(tmp / "tsdb")
    seed_host(store, int(time.time()))
    history = AlertHistory(tmp / "history.db")
    evaluator = RuleEvaluator(store, Engine(store), load_rule_text(RULES),
                              on_changes=history.record)
    evaluator.evaluate_all()
    thresholds = ThresholdStore(tmp / "thresholds.db")
    thresholds.put(Threshold("cpu_busy", "cpu_busy_ratio", warning=80.0, critical=95.0),
                   "setup")
    silences = SilenceStore(tmp / "silences.db")
    runs = iter(range(1000))

    def flappy() -> bool:
        return next(runs) % 2 == 0

    runner = Runner([function_check(lambda: True, name="ok"),
                     function_check(evil, name="evil", critical=False),
                     function_check(flappy, name="flappy", critical=False)])
    for _ in range(6):  # enough status changes to count as flapping
        runner.run_sync()
    routes = [*targets_routes(), *incident_routes(history),
              *threshold_routes(thresholds, lambda: None), *silences_routes(silences),
              *stream_routes(store, runner)]
    # who is notified (the banner asks): nobody, as on a first start
    delivery = Delivery(tmp / "delivery.db", [])
    routes += notification_routes(SimpleNamespace(
        delivery=delivery, receiver_names=[], active_alerts=lambda: active_alerts(evaluator)))
    app = preview_app(store, runner=runner, evaluator=evaluator, extra_routes=routes)
    server, url = run_in_thread(app, free_port())
    yield Served(url, store, evaluator, history, thresholds, silences, runner, server)
    server.should_exit = True
    time.sleep(0.3)
    store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_binary("chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@dataclass
class Watched:
    page: Any
    errors: list[str]


@pytest.fixture
def page(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []


    def console(m: Any) -> None:
        # /health answers 503 with its document while a critical check fails (the host's
        # load on a busy machine, say): the page shows that state, it is not a page error
        url = (m.location or {}).get("url", "")
        if m.type == "error" and not (url.endswith("/health") and "503" in m.text):
            errors.append(m.text)

    pg.on("console", console)
    pg.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    pg.on("dialog", lambda d: d.accept("1"))
    yield Watched(pg, errors)
    context.close()
