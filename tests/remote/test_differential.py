"""Differential: a real Prometheus 2.42 (agent mode) and ``watchkeeper serve`` scrape the same
target and remote-write into one VictoriaMetrics under different ``replica`` labels; what
VictoriaMetrics exports for the two agrees. And our receiver takes vmagent's writes."""

import json
import subprocess
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import httpx
from serve_process import ServeProcess

from peers import free_port, require_binary

PAGE = ("# HELP diff_requests_total Requests.\n# TYPE diff_requests_total counter\n"
        'diff_requests_total{code="200",path="/a"} 1027\n'
        'diff_requests_total{code="500",path="/a"} 3\n'
        "# TYPE diff_temperature gauge\ndiff_temperature -3.25\n"
        "# TYPE diff_latency histogram\n"
        'diff_latency_bucket{le="0.1"} 5\ndiff_latency_bucket{le="1"} 9\n'
        'diff_latency_bucket{le="+Inf"} 10\ndiff_latency_sum 4.5\ndiff_latency_count 10\n'
        "# TYPE diff_q summary\n"
        'diff_q{quantile="0.5"} 0.2\ndiff_q{quantile="0.99"} 0.9\ndiff_q_sum 7\ndiff_q_count 20\n'
        'diff_label_escapes{v="a\\"b\\\\c é ✓"} 1\n')


def target() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            body = PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    return server


def scrape(addr: str) -> list[dict]:
    return [{"job_name": "diff", "scrape_interval": "1s", "scrape_timeout": "1s",
             "static_configs": [{"targets": [addr]}]}]


def by_series(rows: list[dict], lo: int, hi: int) -> dict[tuple, list[tuple[int, float]]]:
    """(labels without replica) -> samples within [lo, hi], from VictoriaMetrics' export."""
    out = {}
    for r in rows:
        labels = tuple(sorted((k, v) for k, v in r["metric"].items() if k != "replica"))
        out[labels] = [(t, v) for t, v in zip(r["timestamps"], r["values"], strict=True)
                       if lo <= t <= hi]
    return out


def _prometheus_scraped(port: int) -> bool:
    """Whether the Prometheus agent on ``port`` has scraped its target once."""
    try:
        body = httpx.get(f"http://127.0.0.1:{port}/api/v1/targets", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False
    return any(t.get("health") == "up" for t in body["data"]["activeTargets"])


def test_prometheus_and_watchkeeper_export_the_same_samples(tmp_path, victoria):
    server = target()
    addr = f"127.0.0.1:{server.server_address[1]}"
    rw = [{"url": victoria.write_url, "name": "vm",
           "queue_config": {"batch_send_deadline": "500ms"}}]
    prom_cfg = {"global": {"external_labels": {"replica": "prom"}},
                "scrape_configs": scrape(addr), "remote_write": rw}
    (tmp_path / "prom.yml").write_text(json.dumps(prom_cfg))
    prom_port = free_port()
    prom = subprocess.Popen(
        [require_binary("prometheus"), "--enable-feature=agent",
         f"--config.file={tmp_path / 'prom.yml'}", f"--storage.agent.path={tmp_path / 'pa'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=(tmp_path / "prom.log").open("wb"), stderr=subprocess.STDOUT)
    wk_cfg = {"collect_host": False, "global": {"external_labels": {"replica": "wk"}},
              "scrape_configs": scrape(addr), "remote_write": rw}
    try:
        with ServeProcess(tmp_path / "wk", wk_cfg):
            # the window opens once both scrape: a loaded machine starts Prometheus late
            deadline = time.time() + 60
            while not _prometheus_scraped(prom_port):
                assert time.time() < deadline, (tmp_path / "prom.log").read_text()[-2000:]
                time.sleep(0.2)
            start = int(time.time() * 1000)
            time.sleep(8)
            end = int(time.time() * 1000)
            time.sleep(2)  # the last batches of the window
    finally:
        prom.terminate()
        prom.wait(20)
        server.shutdown()
    rows = victoria.export('{job="diff"}')
    lo, hi = start + 2000, end - 2000  # both were scraping throughout
    wk = by_series([r for r in rows if r["metric"].get("replica") == "wk"], lo, hi)
    prom_rows = by_series([r for r in rows if r["metric"].get("replica") == "prom"], lo, hi)
    # the same series (the scrape report's duration and sample counts aside)
    own = {"scrape_duration_seconds", "scrape_samples_post_metric_relabeling",
           "scrape_samples_scraped", "scrape_series_added"}
    name = dict
    assert {k for k in wk if name(k)["__name__"] not in own} == \
           {k for k in prom_rows if name(k)["__name__"] not in own}
    assert len(wk) > 15
    for labels, samples in wk.items():
        theirs = prom_rows[labels]
        assert abs(len(samples) - len(theirs)) <= 1, labels  # one per second each
        if name(labels)["__name__"] in ("scrape_duration_seconds", "scrape_series_added"):
            continue
        assert {v for _t, v in samples} == {v for _t, v in theirs}, labels
        for t, _v in samples:  # each sample has the other's within one scrape interval
            assert min(abs(t - u) for u, _ in theirs) <= 1000, labels


def test_our_receiver_takes_vmagents_writes(tmp_path):
    server = target()
    addr = f"127.0.0.1:{server.server_address[1]}"
    (tmp_path / "scrape.yml").write_text(json.dumps({"scrape_configs": scrape(addr)}))
    try:
        with ServeProcess(tmp_path / "wk", {"collect_host": False}) as wk:
            agent = subprocess.Popen(
                [require_binary("vmagent"), f"-promscrape.config={tmp_path / 'scrape.yml'}",
                 f"-remoteWrite.url={wk.url}/api/v1/write", "-remoteWrite.flushInterval=500ms",
                 f"-remoteWrite.tmpDataPath={tmp_path / 'vmagent'}",
                 f"-httpListenAddr=127.0.0.1:{free_port()}"],
                stdout=(tmp_path / "vmagent.log").open("wb"), stderr=subprocess.STDOUT)
            try:
                def found() -> list:
                    r = httpx.get(f"{wk.url}/api/v1/query",
                                  params={"query": '{job="diff",__name__=~"diff_.*"}'})
                    rows = r.json()["data"]["result"]
                    return rows if len(rows) >= 13 else []

                rows = wk.wait_until(found, 60, "vmagent's samples")
            finally:
                agent.terminate()
                agent.wait(20)
    finally:
        server.shutdown()
    got = {(r["metric"]["__name__"], r["metric"].get("le", r["metric"].get("quantile", "")),
            r["metric"].get("code", "")): float(r["value"][1]) for r in rows}
    assert got[("diff_requests_total", "", "200")] == 1027
    assert got[("diff_temperature", "", "")] == -3.25
    assert got[("diff_latency_bucket", "+Inf", "")] == 10
    assert got[("diff_q", "0.99", "")] == 0.9
    escaped = [r for r in rows if r["metric"]["__name__"] == "diff_label_escapes"]
    assert escaped[0]["metric"]["v"] == 'a"b\\c é ✓'
