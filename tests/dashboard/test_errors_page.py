"""The Errors page under a real `watchkeeper serve`: groups with counts, status and times,
a group's detail (explanation, stack, locals), resolve from the page; data shown as text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from serve_process import ServeProcess

EVIL = "<img src=x onerror=window.__pwned=1>"


def _event(order: int) -> bytes:
    event = {"exception": {"values": [{"type": "LookupError", "value": f"order {order} {EVIL}",
                                       "stacktrace": {"frames": [
                                           {"module": "shop.views", "function": "checkout",
                                            "lineno": 10, "abs_path": "/srv/shop/views.py",
                                            "vars": {"order": str(order), "password": "pw"}},
                                           {"module": "shop.orders", "function": "load",
                                            "lineno": 42, "abs_path": "/srv/shop/orders.py"}]}}]},
             "tags": {"http_route": "/checkout"}}
    payload = json.dumps(event).encode()
    return b"\n".join([b"{}", json.dumps({"type": "event", "length": len(payload)}).encode(),
                       payload])


def test_errors_page_lists_groups_shows_one_and_resolves_it(tmp_path, page) -> None:
    with ServeProcess(tmp_path) as serve:
        for order in (1, 2, 3):
            response = serve.client.post("/api/1/envelope/", content=_event(order))
            assert response.status_code == 200
        gid = response.json()["groups"][0]
        pg = page.page
        pg.goto(serve.url + "/#/errors")
        row = pg.wait_for_selector(f"[data-table=errors] tr[data-group='{gid}']")
        assert row.query_selector("[data-count]").inner_text() == "3"
        assert row.query_selector("[data-status]").get_attribute("data-status") == "open"
        assert EVIL in row.inner_text()  # shown literally, never run
        row.query_selector("a").click()
        pg.wait_for_selector("[data-explanation=in_app_frames]")
        text = pg.inner_text("[data-section=error-group]")
        assert "shop.views.checkout" in text and "/checkout: 3" in text
        assert "password=[redacted]" in text and "order=3" in text
        pg.click("button[data-action=resolve]")
        pg.wait_for_selector("[data-section=error-group] [data-status=resolved]")
        assert serve.client.get(f"/api/v1/errors/{gid}").json()["data"]["status"] == "resolved"
        pg.goto(serve.url + "/#/errors?status=open")
        pg.wait_for_selector("[data-section=errors] .nodata")
        assert pg.evaluate("() => window.__pwned") is None
        assert page.errors == []
