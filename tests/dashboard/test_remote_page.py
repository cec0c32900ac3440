"""The Remote write page in a real browser, under the real ``watchkeeper serve`` writing to a
real VictoriaMetrics and to an endpoint that is down: each endpoint's state, counts and last
error as /api/v1/status/remote_write reports them, credentials hidden."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from serve_process import ServeProcess

from peers import free_port
from victoria import VictoriaMetrics

PASSWORD = "pw-for-the-page-9d2"


def test_remote_write_page_shows_each_endpoint(tmp_path, page):
    vm = VictoriaMetrics(tmp_path / "vm").start()
    queue = {"batch_send_deadline": "100ms", "min_backoff": "50ms", "max_backoff": "200ms"}
    config = {"collect_host": False, "remote_write": [
        {"url": vm.write_url, "name": "vm", "queue_config": queue},
        {"url": f"http://w:{PASSWORD}@127.0.0.1:{free_port()}/api/v1/write", "name": "down",
         "queue_config": queue}]}
    try:
        with ServeProcess(tmp_path / "wk", config) as serve:
            now = int(time.time() * 1000)
            text = "".join(f'page_probe{{i="{i}"}} {i} {now}\n' for i in range(20))
            assert serve.client.post("/api/v1/import/prometheus",
                                     content=text).status_code == 204
            pg = page.page
            pg.goto(serve.url + "/#/remote")
            pg.wait_for_selector("tr[data-endpoint=vm][data-state='caught up']", timeout=30_000)
            pg.wait_for_selector("tr[data-endpoint=down][data-state=failing]", timeout=30_000)
            vm_row = "tr[data-endpoint=vm]"
            assert pg.inner_text(f"{vm_row} [data-field=url]") == vm.write_url
            assert int(pg.inner_text(f"{vm_row} [data-field=sent]")) >= 20
            assert pg.inner_text(f"{vm_row} [data-field=failed]") == "0"
            assert pg.inner_text(f"{vm_row} [data-field=error]") == "none"
            down = "tr[data-endpoint=down]"
            assert pg.inner_text(f"{down} [data-field=url]").startswith("http://<secret>@")
            assert "connection error" in pg.inner_text(f"{down} [data-field=error]")
            assert int(pg.inner_text(f"{down} [data-field=pending]")) >= 20
            assert PASSWORD not in pg.content()
            assert pg.get_attribute("#nav a.active", "href") == "#/remote"
            assert page.errors == []
    finally:
        vm.stop()
        vm.log.close()


def test_remote_write_page_says_when_nothing_is_configured(tmp_path, page):
    with ServeProcess(tmp_path, {"collect_host": False}) as serve:
        page.page.goto(serve.url + "/#/remote")
        page.page.wait_for_selector("text=no remote_write or otlp_export endpoint is configured")
        assert page.errors == []
