"""Children, removal, the cardinality limit with its overflow series, and TTL expiry."""

from __future__ import annotations

import time

import pytest

from watchkeeper.exposition import generate_latest
from watchkeeper.metrics import (
    OVERFLOW_MARKER,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    set_default_max_label_sets,
)
from watchkeeper.metrics.base import DROPPED_REMEMBERED
from watchkeeper.metrics.limits import DROPPED_NAME


def _values(reg, name):
    return {tuple(sorted(s.labels.items())): s.value
            for fam in reg.collect() for s in fam.samples if s.name == name}


def test_positional_keyword_and_non_string_values_share_one_child():
    reg = CollectorRegistry()
    c = Counter("c", "C", ["code", "method"], registry=reg)
    c.labels(200, "get").inc()
    c.labels("200", "get").inc()
    c.labels(code=200, method="get").inc()
    c.labels(method="get", code="200").inc()
    assert _values(reg, "c_total") == {(("code", "200"), ("method", "get")): 4.0}
    assert c.labels(200, "get") is c.labels("200", "get")
    assert generate_latest(reg).count(b"c_total{") == 1


def test_remove_clear_and_remove_by_labels():
    reg = CollectorRegistry()
    g = Gauge("g", "G", ["a", "b"], registry=reg)
    for a in "xy":
        for b in "12":
            g.labels(a, b).set(1)
    g.labels(7, 8).set(1)  # an alias spelling must go with its child
    g.remove(7, 8)
    assert (("a", "7"), ("b", "8")) not in _values(reg, "g")
    assert g.labels(7, 8)._value == 0.0
    g.remove("x", "1")
    assert len(_values(reg, "g")) == 4
    g.remove_by_labels({"a": "y"})
    assert set(_values(reg, "g")) == {(("a", "x"), ("b", "2")), (("a", "7"), ("b", "8"))}
    with pytest.raises(ValueError, match="Incorrect label count"):
        g.remove("x")
    with pytest.raises(ValueError, match="Unknown label names"):
        g.remove_by_labels({"zzz": "1"})
    g.clear()
    assert _values(reg, "g") == {}
    plain = Gauge("p", "P", registry=reg)
    with pytest.raises(ValueError, match="No label names"):
        plain.remove("x")


def test_cardinality_limit_sends_new_label_sets_to_one_overflow_series():
    reg = CollectorRegistry()
    c = Counter("requests", "R", ["user"], registry=reg, max_label_sets=3)
    for i in range(10):
        c.labels(f"u{i}").inc()
    c.labels("u9").inc()  # a dropped set seen again is not counted twice
    c.labels("u0").inc()  # existing sets keep working
    values = _values(reg, "requests_total")
    assert len(values) == 4
    assert values[(("user", "u0"),)] == 2
    assert values[(("user", OVERFLOW_MARKER),)] == 8
    dropped = reg.get_sample_value(DROPPED_NAME + "_total", {"metric": "requests"})
    assert dropped == 7
    for i in range(10_000):  # memory stays bounded whatever arrives
        c.labels(f"many{i}").inc()
    assert len(c._lookup) <= 3 + 1 + DROPPED_REMEMBERED
    assert reg.get_sample_value(DROPPED_NAME + "_total", {"metric": "requests"}) > 7


def test_limit_frees_room_after_remove_and_default_limit():
    reg = CollectorRegistry()
    set_default_max_label_sets(1)
    try:
        h = Histogram("h", "H", ["a"], registry=reg)
        unlimited = Counter("u", "U", ["a"], registry=reg, max_label_sets=None)
    finally:
        set_default_max_label_sets(None)
    h.labels("x").observe(1)
    h.labels("y").observe(1)
    assert reg.get_sample_value("h_count", {"a": OVERFLOW_MARKER}) == 1
    h.remove("x")
    h.labels("y").observe(1)  # dropped before, it gets the freed room now
    assert reg.get_sample_value("h_count", {"a": "y"}) == 1
    h.labels("z").observe(1)
    assert reg.get_sample_value("h_count", {"a": OVERFLOW_MARKER}) == 2
    for i in range(5):
        unlimited.labels(str(i)).inc()
    assert len(_values(reg, "u_total")) == 5


def test_ttl_expires_label_sets_not_touched():
    reg = CollectorRegistry()
    c = Counter("c", "C", ["a"], registry=reg, label_set_ttl=0.2)
    old = c.labels("old")
    old.inc()
    c.labels("fresh").inc()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.05)
        c.labels("fresh").inc()  # touched by writes through labels()
        if (("a", "old"),) not in _values(reg, "c_total"):
            break
    values = _values(reg, "c_total")
    assert (("a", "old"),) not in values
    assert (("a", "fresh"),) in values
    with pytest.raises(ValueError):
        Counter("bad", "B", ["a"], registry=reg, label_set_ttl=0)


def test_ttl_expiry_without_scrapes_bounds_memory():
    c = Counter("c", "C", ["a"], registry=None, label_set_ttl=0.05)
    for i in range(100):
        c.labels(f"first{i}").inc()
    time.sleep(0.1)
    c.labels("later").inc()  # creating a child sweeps what expired meanwhile
    assert list(c._lookup) == [("later",)]


def test_ttl_child_writes_keep_it_alive():
    reg = CollectorRegistry()
    g = Gauge("g", "G", ["a"], registry=reg, label_set_ttl=0.3)
    child = g.labels("kept")
    stale = g.labels("stale")
    stale.set(1)
    start = time.monotonic()
    while time.monotonic() - start < 0.6:
        child.set(2)
        time.sleep(0.02)
    values = _values(reg, "g")
    assert values == {(("a", "kept"),): 2.0}
