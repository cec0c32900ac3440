"""Counter, Gauge, Histogram, Summary, Info and Enum behave as prometheus_client's do."""

from __future__ import annotations

import math
import time

import prometheus_client as pc
import pytest
from prometheus_client.parser import text_string_to_metric_families as pc_parse

import watchkeeper
from watchkeeper import metrics as wk
from watchkeeper.exposition import generate_latest, generate_openmetrics
from watchkeeper.exposition.render import render_openmetrics, render_text


def _exercise(lib, registry):
    """The same calls on either library."""
    c = lib.Counter("requests_total", "Requests", ["method", "code"], registry=registry)
    c.labels("get", "200").inc()
    c.labels(method="post", code=500).inc(2.5)
    u = lib.Counter("jobs", "Jobs", namespace="app", subsystem="worker", registry=registry)
    u.inc()
    u.inc(0)
    g = lib.Gauge("temperature", "T", ["room"], unit="celsius", registry=registry)
    g.labels("a").set(21.5)
    g.labels("a").inc(2)
    g.labels("a").dec(0.5)
    g.labels("b").set(-math.inf)
    fg = lib.Gauge("queue_length", "Q", registry=registry)
    fg.set_function(lambda: 42)
    h = lib.Histogram("latency_seconds", "L", ["path"], registry=registry)
    for v in (0.001, 0.005, 0.3, 0.3, 7, 100):
        h.labels("/").observe(v)
    hb = lib.Histogram("size_bytes", "S", buckets=[1, 10, 100], registry=registry)
    hb.observe(5)
    hb.observe(1)
    s = lib.Summary("payload", "P", ["kind"], registry=registry)
    s.labels("x").observe(3)
    s.labels("x").observe(4)
    i = lib.Info("build", "B", registry=registry)
    i.info({"version": "1.2.3", "commit": 'a"b\\c'})
    e = lib.Enum("phase", "Ph", ["job"], states=["starting", "running", "stopped"],
                 registry=registry)
    e.labels("j1").state("running")
    e.labels("j2")


def _comparable(text):
    """Families without _created samples and quantile lines (prometheus_client has none)."""
    out = {}
    for fam in pc_parse(text):
        samples = sorted(
            (s.name, tuple(sorted(s.labels.items())), s.value) for s in fam.samples
            if not s.name.endswith("_created") and "quantile" not in s.labels)
        if samples or fam.type != "gauge":
            out[fam.name] = (fam.type, fam.documentation, samples)
    return out


def test_same_exposition_as_prometheus_client():
    ours = wk.CollectorRegistry()
    theirs = pc.CollectorRegistry()
    _exercise(wk, ours)
    _exercise(pc, theirs)
    assert _comparable(generate_latest(ours).decode()) == _comparable(
        pc.generate_latest(theirs).decode())


def test_fast_render_equals_generic_render_of_collect():
    reg = wk.CollectorRegistry()
    _exercise(wk, reg)
    c = wk.Counter("ex", "E", ["a"], registry=reg)
    c.labels("x").inc(exemplar={"trace_id": "abc"})
    h = wk.Histogram("hx", "H", registry=reg)
    h.observe(0.2, exemplar={"trace_id": "def"})
    for collector in reg.collectors():
        text, om = [], []
        collector._render_text(text)
        collector._render_openmetrics(om)
        assert "".join(text) == render_text(collector.collect())
        assert "".join(om) + "# EOF\n" == render_openmetrics(collector.collect())


def test_created_samples_match_construction_time():
    reg = wk.CollectorRegistry()
    before = time.time()
    c = wk.Counter("c", "C", registry=reg)
    assert before <= reg.get_sample_value("c_created") <= time.time()
    c.inc(3)
    assert reg.get_sample_value("c_total") == 3
    c.reset()
    assert reg.get_sample_value("c_total") == 0


def test_disable_created_metrics():
    reg = wk.CollectorRegistry()
    wk.Counter("c", "C", registry=reg).inc()
    wk.disable_created_metrics()
    try:
        assert b"_created" not in generate_latest(reg)
        assert b"_created" not in generate_openmetrics(reg)
    finally:
        wk.enable_created_metrics()


def test_total_suffix_and_names():
    reg = wk.CollectorRegistry()
    c = wk.Counter("x_total", "X", registry=reg)
    assert c._name == "x"
    assert str(c) == "counter:x"
    h = wk.Histogram("d", "D", namespace="ns", subsystem="sub", unit="seconds", registry=reg)
    assert h._name == "ns_sub_d_seconds"


@pytest.mark.parametrize("lib", [pc, wk])
def test_validation_errors_like_prometheus_client(lib):
    reg = lib.CollectorRegistry()
    with pytest.raises(ValueError, match="Reserved label"):
        lib.Counter("c2", "C", ["__x"], registry=reg)
    with pytest.raises(ValueError, match="Reserved label"):
        lib.Histogram("h1", "H", ["le"], registry=reg)
    with pytest.raises(ValueError, match="Reserved label"):
        lib.Summary("s1", "S", ["quantile"], registry=reg)
    with pytest.raises(ValueError, match="Buckets not in sorted order"):
        lib.Histogram("h2", "H", buckets=[2, 1], registry=reg)
    with pytest.raises(ValueError, match="at least two buckets"):
        lib.Histogram("h3", "H", buckets=[math.inf], registry=reg)
    with pytest.raises(ValueError, match="cannot have a unit"):
        lib.Info("i1", "I", unit="seconds", registry=reg)
    with pytest.raises(ValueError, match="No states"):
        lib.Enum("e1", "E", states=[], registry=reg)
    with pytest.raises(ValueError, match="Overlapping"):
        lib.Enum("e2", "E", ["e2"], states=["a"], registry=reg)
    with pytest.raises(ValueError, match="Invalid multiprocess mode"):
        lib.Gauge("g1", "G", multiprocess_mode="bogus", registry=reg)
    c = lib.Counter("c3", "C", registry=reg)
    with pytest.raises(ValueError, match="non-negative"):
        c.inc(-1)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        lib.Counter("c3", "C", registry=reg)
    labelled = lib.Counter("c4", "C", ["a", "b"], registry=reg)
    with pytest.raises(ValueError, match="missing label values"):
        labelled.inc()
    with pytest.raises(ValueError, match="Incorrect label count"):
        labelled.labels("x")
    with pytest.raises(ValueError, match="Incorrect label names"):
        labelled.labels(a="x", c="y")
    with pytest.raises(ValueError, match="both"):
        labelled.labels("x", b="y")
    with pytest.raises(ValueError, match="No label names"):
        c.labels("x")
    i = lib.Info("i2", "I", ["a"], registry=reg)
    with pytest.raises(ValueError, match="Overlapping labels"):
        i.labels("x").info({"a": "y"})
    e = lib.Enum("e3", "E", states=["a", "b"], registry=reg)
    with pytest.raises(ValueError):
        e.state("c")
    with pytest.raises(ValueError, match="128"):
        c.inc(exemplar={"trace_id": "x" * 200})


def test_names_limited_to_what_text_0_0_4_can_carry():
    # prometheus_client 0.26 accepts UTF-8 names; text 0.0.4 cannot carry them unquoted.
    reg = wk.CollectorRegistry()
    with pytest.raises(ValueError, match="invalid metric name"):
        wk.Counter("bad name", "B", registry=reg)
    with pytest.raises(ValueError, match="Invalid label metric name"):
        wk.Counter("c1", "C", ["bad-label"], registry=reg)
    with pytest.raises(ValueError, match="Metric name should not be empty"):
        wk.Counter("", "C", registry=reg)
    with pytest.raises(ValueError, match="Invalid label metric name"):
        wk.Info("i9", "I", registry=reg).info({"bad-key": "x"})


def test_gauge_methods():
    reg = wk.CollectorRegistry()
    g = wk.Gauge("g", "G", registry=reg)
    g.set(3)
    g.inc()
    g.dec(2)
    assert reg.get_sample_value("g") == 2
    g.set_to_current_time()
    assert abs(reg.get_sample_value("g") - time.time()) < 5
    with g.track_inprogress():
        assert reg.get_sample_value("g") > 1
    with g.time():
        pass
    assert 0 <= reg.get_sample_value("g") < 1
    items = [1, 2]
    g.set_function(lambda: len(items))
    items.append(3)
    assert reg.get_sample_value("g") == 3
    recent = wk.Gauge("r", "R", multiprocess_mode="mostrecent", registry=reg)
    recent.set(1)
    with pytest.raises(RuntimeError):
        recent.inc()


def test_histogram_bucket_edges_and_negative_buckets():
    reg = wk.CollectorRegistry()
    h = wk.Histogram("h", "H", buckets=[1, 2], registry=reg)
    h.observe(1)  # le is inclusive
    h.observe(2.0000001)
    assert reg.get_sample_value("h_bucket", {"le": "1.0"}) == 1
    assert reg.get_sample_value("h_bucket", {"le": "2.0"}) == 1
    assert reg.get_sample_value("h_bucket", {"le": "+Inf"}) == 2
    assert reg.get_sample_value("h_count") == 2
    h.observe(math.nan)  # counted in +Inf only, as the Go client does
    assert reg.get_sample_value("h_bucket", {"le": "1.0"}) == 1
    assert reg.get_sample_value("h_bucket", {"le": "+Inf"}) == 3
    neg = wk.Histogram("n", "N", buckets=[-1, 0], registry=reg)
    neg.observe(-5)
    assert reg.get_sample_value("n_sum") is None  # as prometheus_client: no sum below 0


def test_info_and_enum_samples():
    reg = wk.CollectorRegistry()
    i = wk.Info("build", "B", registry=reg)
    i.info({"version": "2"})
    assert reg.get_sample_value("build_info", {"version": "2"}) == 1
    e = wk.Enum("phase", "P", states=["a", "b"], registry=reg)
    assert reg.get_sample_value("phase", {"phase": "a"}) == 1
    e.state("b")
    assert reg.get_sample_value("phase", {"phase": "a"}) == 0
    assert reg.get_sample_value("phase", {"phase": "b"}) == 1


def test_top_level_and_core_exports():
    from watchkeeper import core

    for name in ("Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"):
        assert getattr(watchkeeper, name) is getattr(wk, name) is getattr(core, name)
    assert core.REGISTRY is wk.REGISTRY
    assert core.CounterMetricFamily is wk.CounterMetricFamily


def test_default_registry_registration():
    c = wk.Counter("wk_test_default_registry_total", "D")
    try:
        c.inc()
        assert wk.REGISTRY.get_sample_value("wk_test_default_registry_total") == 1
    finally:
        wk.REGISTRY.unregister(c)
