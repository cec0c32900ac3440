"""The page under the real `watchkeeper serve`: its panels' single request is answered by
the server's own /api/v1 routes, and the page draws host charts and goes live."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from serve_process import ServeProcess


def test_serve_answers_every_host_panel_in_one_request_and_the_page_draws(tmp_path, page):
    with ServeProcess(tmp_path) as serve:

        def every_panel_answered() -> dict | None:
            time.sleep(0.5)
            end = int(time.time())
            body = serve.client.get("/dashboards/host/query",
                                    params={"start": end - 300, "end": end, "step": 1}).json()
            answered = [p for p in body["data"] if p["status"] == "success"]
            cpu_busy = body["data"][0]["data"]["result"]  # needs two host samples for a rate
            return body if len(answered) == 13 and cpu_busy else None

        body = serve.wait_until(every_panel_answered, 30, "host metrics in every panel")
        assert body["status"] == "success"
        pg = page.page
        pg.goto(serve.url + "/#/overview?range=15m")
        pg.wait_for_function("() => document.querySelectorAll('.chart[data-drawn]').length >= 12")
        assert pg.get_attribute('.chart[data-panel="CPU busy"]', "data-drawn") == "1"
        pg.wait_for_selector("#status:text('live')")
        assert pg.get_attribute("#status", "title") == "updates pushed over WebSocket"
        assert page.errors == []


def test_dashboards_from_the_config_are_served_and_follow_a_reload(tmp_path):
    (tmp_path / "boards").mkdir()
    (tmp_path / "boards" / "api.yml").write_text(
        "- id: api\n  title: API\n  rows: [{panels: [{title: Requests, expr: up}]}]\n")
    config = {"checks": [{"type": "memory"}], "dashboards": [
        "boards/*.yml",
        {"id": "host", "title": "My host", "rows": [{"panels": [{"title": "Load",
                                                                 "expr": "node_load1"}]}]}]}
    with ServeProcess(tmp_path, config) as serve:
        def listed() -> dict[str, str]:
            return {d["id"]: d["title"]
                    for d in serve.client.get("/dashboards.json").json()["dashboards"]}

        shown = listed()
        assert shown["api"] == "API" and shown["host"] == "My host"  # replaces the built-in
        assert "process" in shown  # the other built-ins stay
        page = serve.client.get("/").text
        assert '"title":"API"' in page  # inlined into the page for its first paint
        panel = serve.client.get("/dashboards/api/query", params={"start": 0, "end": 60,
                                                                  "step": 15}).json()
        assert panel["status"] == "success"

        config["dashboards"] = ["boards/*.yml"]
        serve.write_config(config)
        assert serve.client.post("/-/reload").status_code == 200
        assert listed()["host"] == "Host"  # the built-in is back
        config["dashboards"] = [{"id": "x", "rows": "nope"}]
        serve.write_config(config)
        refused = serve.client.post("/-/reload")
        assert refused.status_code == 500 and "dashboards" in refused.text
        assert "api" in listed()  # the running config stays
