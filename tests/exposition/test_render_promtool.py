"""promtool, Prometheus's own linter, judges what we render."""

from __future__ import annotations

import subprocess

from peers import require_binary
from watchkeeper.exposition import generate_latest
from watchkeeper.metrics import (
    CollectorRegistry,
    Counter,
    CounterMetricFamily,
    Enum,
    Gauge,
    GaugeHistogramMetricFamily,
    Histogram,
    Info,
    Summary,
)

HOSTILE = ['back\\slash', 'quo"te', "new\nline", "ünïcödé 漢字", "", "{}=,# EOF"]


class _Custom:
    def collect(self):
        c = CounterMetricFamily("custom_events", "Custom \\ help\nwith newline", labels=["v"])
        for i, v in enumerate(HOSTILE):
            c.add_metric([v], i, created=1700000000.0 + i)
        yield c
        yield GaugeHistogramMetricFamily("custom_queue", "Q", buckets=[("1.0", 1), ("+Inf", 3)],
                                         gsum_value=4)


def _registry():
    reg = CollectorRegistry()
    c = Counter("app_requests", "Requests", ["path"], registry=reg)
    g = Gauge("app_temperature", "T", ["room"], unit="celsius", registry=reg)
    h = Histogram("app_latency_seconds", "Latency", ["path"], registry=reg)
    s = Summary("app_payload_bytes", "Payload", ["path"], registry=reg)
    for v in HOSTILE:
        c.labels(v).inc(3)
        g.labels(v).set(-1.5)
        h.labels(v).observe(0.2)
        s.labels(v).observe(100)
    Info("app_build", "Build", registry=reg).info({"version": 'v"1\\2\n'})
    Enum("app_phase", "Phase", states=["a", "b"], registry=reg).state("b")
    reg.register(_Custom())
    return reg


def test_promtool_accepts_every_metric_type_and_hostile_labels(tmp_path):
    promtool = require_binary("promtool")
    text = generate_latest(_registry())
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                            timeout=60, check=False)
    # promtool exits 0 when the text parses; lint notes (if any) go to stderr as warnings.
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    assert b"error" not in result.stderr.lower()
