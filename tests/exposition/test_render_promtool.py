"""promtool, Prometheus's own linter, judges the generic renderer: families of every type
from a custom collector, with hostile label values and HELP. (Our own metric types, on the
fast path, are judged in test_promtool.py.)"""

from __future__ import annotations

import subprocess

from peers import require_binary
from watchkeeper.exposition import generate_latest
from watchkeeper.metrics import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)

HOSTILE = ['back\\slash', 'quo"te', "new\nline", "ünïcödé 漢字", "", "{}=,# EOF"]


class _EveryType:
    def collect(self):
        c = CounterMetricFamily("custom_events", "Custom \\ help\nwith newline", labels=["v"])
        g = GaugeMetricFamily("custom_level", "Level", labels=["v"], unit="bytes")
        h = HistogramMetricFamily("custom_latency_seconds", "Latency", labels=["v"])
        s = SummaryMetricFamily("custom_payload", "Payload", labels=["v"])
        for i, v in enumerate(HOSTILE):
            c.add_metric([v], i, created=1700000000.0 + i)
            g.add_metric([v], -i * 1e7, timestamp=1700000000.5)
            h.add_metric([v], [("0.1", i), ("+Inf", 2 * i)], 0.5 * i)
            s.add_metric([v], i, 3.5 * i, quantiles=[(0.5, 1.0), (0.99, 2.0)])
        yield from (c, g, h, s)
        yield GaugeHistogramMetricFamily("custom_queue", "Q", buckets=[("1.0", 1), ("+Inf", 3)],
                                         gsum_value=4)
        yield InfoMetricFamily("custom_build", "Build", value={"version": 'v"1\\2\n'})
        yield StateSetMetricFamily("custom_phase", "Phase", value={"a": True, "b": False})
        yield UnknownMetricFamily("custom_mystery", "Mystery", value=float("nan"))


def test_promtool_accepts_custom_collector_families_of_every_type():
    promtool = require_binary("promtool")
    reg = CollectorRegistry()
    reg.register(_EveryType())
    result = subprocess.run([promtool, "check", "metrics"], input=generate_latest(reg),
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    assert b"error" not in result.stderr.lower()
