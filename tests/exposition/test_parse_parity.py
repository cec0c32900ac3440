"""Same input, same families: our parser against prometheus_client's, on real exposition text
(prometheus_client's own output and a live node_exporter's)."""

from __future__ import annotations

import math
import subprocess
import time
import urllib.request

import prometheus_client as pc
import pytest
from prometheus_client.openmetrics import exposition as pc_om_exposition
from prometheus_client.openmetrics import parser as pc_om_parser
from prometheus_client.parser import text_string_to_metric_families as pc_text_parse

from peers import free_port, require_binary
from watchkeeper import text_string_to_metric_families
from watchkeeper.exposition.parse import openmetrics_string_to_metric_families

HOSTILE = ['back\\slash', 'quo"te', "new\nline", "ünïcödé 漢字", "", "{}=,# EOF"]

NODE_EXPORTER_LIKE = """\
# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.4586e-05
go_gc_duration_seconds{quantile="0.25"} 3.1371e-05
go_gc_duration_seconds{quantile="1"} 0.000311853
go_gc_duration_seconds_sum 0.012347474
go_gc_duration_seconds_count 238
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 2.21945614e+06
node_cpu_seconds_total{cpu="0",mode="iowait"} 1427.55
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 4.2094592e+10
# HELP node_uname_info Labeled system information as provided by the uname system call.
# TYPE node_uname_info gauge
node_uname_info{domainname="(none)",machine="x86_64",nodename="host",release="6.1.0",\
sysname="Linux",version="#1 SMP PREEMPT_DYNAMIC Debian 6.1.0 (2023-01-01)"} 1
# HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise
# TYPE node_textfile_scrape_error gauge
node_textfile_scrape_error 0
# HELP prometheus_http_request_duration_seconds Histogram of latencies for HTTP requests.
# TYPE prometheus_http_request_duration_seconds histogram
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="0.1"} 1
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="+Inf"} 1
prometheus_http_request_duration_seconds_sum{handler="/metrics"} 0.003
prometheus_http_request_duration_seconds_count{handler="/metrics"} 1
# HELP node_scrape_collector_success node_exporter: Whether a collector succeeded.
# TYPE node_scrape_collector_success gauge
node_scrape_collector_success{collector="arp"} 1
"""


def _value(v: float) -> object:
    return "NaN" if math.isnan(v) else float(v)


def _timestamp(ts: object) -> float | None:
    return None if ts is None else float(ts)  # prometheus_client's Timestamp has __float__


def _exemplar(e: object) -> object:
    if e is None:
        return None
    return (dict(e.labels), _value(e.value), _timestamp(e.timestamp))


def summary(families) -> list:
    return [
        (f.name, f.type, f.documentation, f.unit,
         [(s.name, dict(s.labels), _value(s.value), _timestamp(s.timestamp),
           _exemplar(s.exemplar)) for s in f.samples])
        for f in families
    ]


def _pc_registry() -> pc.CollectorRegistry:
    reg = pc.CollectorRegistry()
    c = pc.Counter("parity_requests", "Requests \\ with\nnewline", ["path"], registry=reg)
    g = pc.Gauge("parity_temperature", "T", ["room"], unit="celsius", registry=reg)
    h = pc.Histogram("parity_latency_seconds", "Latency", ["path"], registry=reg)
    s = pc.Summary("parity_payload_bytes", "Payload", ["path"], registry=reg)
    for i, v in enumerate(HOSTILE):
        c.labels(v).inc(i + 0.5, exemplar={"trace_id": f"t{i}"})
        g.labels(v).set(-1.5 * i if i else float("nan"))
        h.labels(v).observe(0.2 * i, exemplar={"trace_id": f"h{i}"})
        s.labels(v).observe(100 + i)
    g.labels("hot").set(float("inf"))
    pc.Info("parity_build", "Build", registry=reg).info({"version": 'v"1\\2\n'})
    pc.Enum("parity_phase", "Phase", states=["a", "b"], registry=reg).state("b")
    return reg


def test_prometheus_client_text_output_parses_identically():
    text = pc.generate_latest(_pc_registry()).decode()
    assert summary(text_string_to_metric_families(text)) == summary(pc_text_parse(text))


def test_prometheus_client_openmetrics_output_parses_identically():
    text = pc_om_exposition.generate_latest(_pc_registry()).decode()
    ours = summary(openmetrics_string_to_metric_families(text))
    assert ours == summary(pc_om_parser.text_string_to_metric_families(text))
    assert any(s[4] for fam in ours for s in fam[4]), "exemplars were compared"


def test_node_exporter_like_text_parses_identically():
    ours = summary(text_string_to_metric_families(NODE_EXPORTER_LIKE))
    assert ours == summary(pc_text_parse(NODE_EXPORTER_LIKE))
    assert len(ours) == 7


@pytest.fixture(scope="module")
def node_exporter_text():
    binary = require_binary("prometheus-node-exporter")
    port = free_port()
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    return r.read().decode()
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_live_node_exporter_output_parses_identically(node_exporter_text):
    ours = summary(text_string_to_metric_families(node_exporter_text))
    assert ours == summary(pc_text_parse(node_exporter_text))
    assert len(ours) > 50
    assert any(name == "node_cpu_seconds" and typ == "counter" for name, typ, *_ in ours)
