"""The firing-alerts banner over every page of a real `watchkeeper serve`: the alerts that
fire, and how to add a receiver while none is configured."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from serve_process import ServeProcess

RULES = """
groups:
  - name: banner
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: warning}
        annotations: {summary: "<b>planted</b> for the banner"}
      - alert: NeverFiring
        expr: vector(1) < 0
"""


def _serve(tmp_path: Path, env: dict[str, str] | None = None, **alerting) -> ServeProcess:
    (tmp_path / "rules.yml").write_text(RULES)
    config = {"global": {"evaluation_interval": "1s"}, "rule_files": ["rules.yml"],
              "checks": [{"type": "memory"}]}
    if alerting:
        config["alerting"] = alerting
    return ServeProcess(tmp_path, config, env=env)


def _firing(serve: ServeProcess) -> bool:
    alerts = serve.client.get("/api/v1/alerts").json()["data"]["alerts"]
    return any(a["state"] == "firing" for a in alerts)


def test_no_banner_while_nothing_fires(served, page):
    pg = page.page
    import httpx

    alerts = httpx.get(served.url + "/api/v1/alerts").json()["data"]["alerts"]
    assert not [a for a in alerts if a["state"] == "firing"]
    pg.goto(served.url + "/#/overview")
    pg.wait_for_selector("[data-section=firing] p")
    pg.wait_for_timeout(500)
    assert pg.locator("#banner").is_hidden()
    assert page.errors == []


def test_banner_shows_firing_alerts_and_how_to_add_a_receiver(tmp_path, page):
    with _serve(tmp_path) as serve:
        serve.wait_until(lambda: _firing(serve), 30, "AlwaysFiring firing")
        pg = page.page
        pg.goto(serve.url + "/#/health")  # any page, not only the overview
        pg.wait_for_selector("#banner:not([hidden]) [data-firing=AlwaysFiring]")
        text = pg.inner_text("#banner")
        assert "1 alert firing" in text
        assert "<b>planted</b> for the banner" in text  # shown as text, never as markup
        assert pg.locator("#banner b").count() == 0
        assert pg.locator("#banner [data-firing=NeverFiring]").count() == 0
        hint = pg.inner_text("#banner [data-hint=receiver]")
        assert "No receiver is configured" in hint and "alerting.receivers" in hint
        assert "WATCHKEEPER_NOTIFY" in hint
        pg.click("#banner .banner-title")
        pg.wait_for_function("() => location.hash === '#/alerts'")
        assert page.errors == []


def test_no_hint_when_a_receiver_is_configured(tmp_path, page):
    receivers = {"route": {"receiver": "ops"},
                 "receivers": [{"name": "ops",
                                "webhook_configs": [{"url": "http://127.0.0.1:9/hook"}]}]}
    with _serve(tmp_path, **receivers) as serve:
        serve.wait_until(lambda: _firing(serve), 30, "AlwaysFiring firing")
        pg = page.page
        pg.goto(serve.url + "/#/overview")
        pg.wait_for_selector("#banner:not([hidden]) [data-firing=AlwaysFiring]")
        pg.wait_for_timeout(300)
        assert pg.locator("#banner [data-hint]").count() == 0
        assert page.errors == []


def test_no_hint_when_watchkeeper_notify_is_set_and_a_failing_receiver_is_named(tmp_path, page):
    # an Apprise URL that cannot deliver (nothing listens on port 9): someone is meant to
    # hear, so no "nobody" hint, but the banner says deliveries fail
    with _serve(tmp_path, env={"WATCHKEEPER_NOTIFY": "json://127.0.0.1:9/hook"}) as serve:
        serve.wait_until(lambda: _firing(serve), 30, "AlwaysFiring firing")
        serve.wait_until(lambda: any(i["failed"] for i in serve.client.get(
            "/api/v1/notifications").json()["data"]["integrations"]), 60, "a failed delivery")
        pg = page.page
        pg.goto(serve.url + "/#/overview")
        pg.wait_for_selector("#banner:not([hidden]) [data-hint=failing]", timeout=30_000)
        assert "watchkeeper-notify" in pg.inner_text("#banner [data-hint=failing]")
        assert pg.locator("#banner [data-hint=receiver]").count() == 0
        assert page.errors == []
