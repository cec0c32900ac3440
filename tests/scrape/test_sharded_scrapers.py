"""The sharding recipe end to end: 3 `watchkeeper serve` with one target list and a hashmod
keep each, remote-writing into one VictoriaMetrics: every target is scraped by exactly the
shard its hash names, and the store holds each target's series once."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from victoria import VictoriaMetrics
from watchkeeper.scrape.relabel import hashmod

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))
from serve_process import ServeProcess

SHARDS = 3


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"# TYPE app_ready gauge\napp_ready 1\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _shard_config(shard: int, targets: list[str], vm: VictoriaMetrics) -> dict:
    return {
        "global": {"scrape_interval": "1s", "external_labels": {"shard": str(shard)}},
        "collect_host": False, "default_rules": {"enabled": False},
        "web": {"mcp": {"enabled": False}},  # not needed here: a faster start
        "scrape_configs": [{"job_name": "app", "static_configs": [{"targets": targets}],
                            "relabel_configs": [
                                {"source_labels": ["__address__"], "modulus": SHARDS,
                                 "target_label": "__tmp_hash", "action": "hashmod"},
                                {"source_labels": ["__tmp_hash"], "regex": str(shard),
                                 "action": "keep"}]}],
        "remote_write": [{"url": vm.write_url, "name": "vm",
                          "queue_config": {"batch_send_deadline": "200ms"}}],
    }


@pytest.mark.peer
def test_sharded_scrapers_into_one_victoriametrics(tmp_path) -> None:
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(8)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    targets = [f"127.0.0.1:{s.server_address[1]}" for s in servers]
    vm = VictoriaMetrics(tmp_path / "vm")
    shards = [ServeProcess(tmp_path / f"shard{k}", _shard_config(k, targets, vm))
              for k in range(SHARDS)]
    try:
        with ThreadPoolExecutor(SHARDS + 1) as pool:
            starts = [pool.submit(s.start, 120) for s in shards]  # slow when loaded
            for future in [pool.submit(vm.start), *starts]:
                future.result()
        deadline = time.monotonic() + 60
        while True:
            rows = vm.export('{__name__="app_ready"}')
            if {r["metric"]["instance"] for r in rows} == set(targets):
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.5)
        owner = {r["metric"]["instance"]: r["metric"]["shard"] for r in rows}
        assert len(rows) == len(targets)  # one series per target: one shard scrapes it
        assert owner == {t: str(hashmod(t, SHARDS)) for t in targets}
        for k, shard in enumerate(shards):  # each shard's own view: its targets only
            active = shard.client.get("/api/v1/targets",
                                      params={"state": "active"}).json()["data"]
            mine = {t["labels"]["instance"] for t in active["activeTargets"]}
            assert mine == {t for t in targets if hashmod(t, SHARDS) == k}
    finally:
        for shard in shards:
            shard.stop()
        vm.stop()
        vm.log.close()
        for server in servers:
            server.shutdown()
            server.server_close()
