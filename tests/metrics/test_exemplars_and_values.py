"""Exemplars in OpenMetrics output, and metrics storing numbers in value objects."""

from __future__ import annotations

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse

from watchkeeper.exposition import generate_latest, generate_openmetrics
from watchkeeper.metrics import CollectorRegistry, Counter, Gauge, Histogram, Summary
from watchkeeper.metrics import values as values_module


def test_counter_and_bucket_exemplars_in_openmetrics():
    reg = CollectorRegistry()
    c = Counter("hits", "H", ["path"], registry=reg)
    c.labels("/").inc(2, exemplar={"trace_id": "abc"})
    h = Histogram("latency_seconds", "L", registry=reg)
    h.observe(0.3, exemplar={"trace_id": "def"})
    h.observe(7)
    om = generate_openmetrics(reg).decode()
    fams = {f.name: f for f in om_parse(om)}
    total = next(s for s in fams["hits"].samples if s.name == "hits_total")
    assert total.exemplar.labels == {"trace_id": "abc"} and total.exemplar.value == 2
    bucket = next(s for s in fams["latency_seconds"].samples if s.labels.get("le") == "0.5")
    assert bucket.exemplar.labels == {"trace_id": "def"} and bucket.exemplar.value == 0.3
    assert b"trace_id" not in generate_latest(reg)


class _RecordingValue:
    """A stand-in store honouring the value-object contract (inc/set/get)."""

    opened: list = []

    def __init__(self, *args):
        self.args = args
        self.value = 0.0
        _RecordingValue.opened.append(args)

    def inc(self, amount):
        self.value += amount

    def set(self, value):
        self.value = value

    def get(self):
        return self.value


def test_value_objects_hold_every_number(monkeypatch):
    monkeypatch.setattr(values_module, "GIL_ENABLED", False)
    monkeypatch.setattr(values_module, "_locked_value", _RecordingValue)
    _RecordingValue.opened.clear()
    reg = CollectorRegistry()
    c = Counter("c", "C", ["a"], registry=reg)
    g = Gauge("g", "G", registry=reg, multiprocess_mode="max")
    h = Histogram("h", "H", buckets=[1, 2], registry=reg)
    s = Summary("s", "S", registry=reg)
    c.labels("x").inc(3)
    g.set(4)
    h.observe(1.5)
    s.observe(2)
    names = [(a[0], a[2], tuple(a[4]), a[6]) for a in _RecordingValue.opened]
    assert ("counter", "c_total", ("x",), "") in names
    assert ("gauge", "g", (), "max") in names
    assert ("histogram", "h_bucket", ("2.0",), "") in names
    assert ("histogram", "h_sum", (), "") in names
    assert ("summary", "s_count", (), "") in names
    assert reg.get_sample_value("c_total", {"a": "x"}) == 3
    assert reg.get_sample_value("g") == 4
    assert reg.get_sample_value("h_bucket", {"le": "2.0"}) == 1
    assert reg.get_sample_value("h_sum") == 1.5
    assert reg.get_sample_value("s_count") == 1
    assert reg.get_sample_value("s_sum") == 2


def test_locked_values_count_exactly():
    v = values_module.LockedValue()
    v.inc(2)
    v.set(v.get() + 1)
    assert v.get() == 3


def test_multiprocess_mode_sums_across_processes(tmp_path, monkeypatch):
    mp = pytest.importorskip("watchkeeper.metrics.multiprocess")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    reg = CollectorRegistry()
    c = Counter("jobs", "J", ["kind"], registry=None)
    h = Histogram("dur", "D", buckets=[1], registry=None)
    g = Gauge("temp", "T", registry=None, multiprocess_mode="livemax")
    c.labels("a").inc(2)
    h.observe(0.5)
    g.set(7)
    mp.MultiProcessCollector(reg, path=str(tmp_path))
    assert reg.get_sample_value("jobs_total", {"kind": "a"}) == 2
    assert reg.get_sample_value("dur_bucket", {"le": "1.0"}) == 1
    assert reg.get_sample_value("dur_count") == 1
    assert reg.get_sample_value("temp") == 7
