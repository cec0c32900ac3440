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
            return body if len(answered) == 12 and cpu_busy else None

        body = serve.wait_until(every_panel_answered, 30, "host metrics in every panel")
        assert body["status"] == "success"
        pg = page.page
        pg.goto(serve.url + "/#/overview?range=15m")
        pg.wait_for_function("() => document.querySelectorAll('.chart[data-drawn]').length >= 12")
        assert pg.get_attribute('.chart[data-panel="CPU busy"]', "data-drawn") == "1"
        pg.wait_for_selector("#status:text('live')")
        assert pg.get_attribute("#status", "title") == "updates pushed over WebSocket"
        assert page.errors == []
