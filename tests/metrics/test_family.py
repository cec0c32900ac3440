import pytest

from watchkeeper import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    StateSetMetricFamily,
    SummaryMetricFamily,
)


class Custom:
    def collect(self):
        c = CounterMetricFamily("jobs_total", "Jobs done", labels=["queue"])
        c.add_metric(["a"], 3)
        yield c
        yield GaugeMetricFamily("temperature_celsius", "Temp", value=21.5)


def test_custom_collector_samples_are_readable_from_registry():
    reg = CollectorRegistry()
    reg.register(Custom())
    assert reg.get_sample_value("jobs_total", {"queue": "a"}) == 3
    assert reg.get_sample_value("temperature_celsius") == 21.5
    assert reg.get_sample_value("missing") is None


def test_duplicate_series_rejected_on_register():
    reg = CollectorRegistry(auto_describe=True)
    reg.register(Custom())
    with pytest.raises(ValueError, match="Duplicated"):
        reg.register(Custom())


def test_unregister_allows_reregister():
    reg = CollectorRegistry(auto_describe=True)
    c = Custom()
    reg.register(c)
    reg.unregister(c)
    reg.register(Custom())
    assert reg.get_sample_value("jobs_total", {"queue": "a"}) == 3


def test_family_suffixes_follow_the_formats():
    c = CounterMetricFamily("x_total", "h", value=1, created=5.0)
    assert c.name == "x"
    assert [s.name for s in c.samples] == ["x_total", "x_created"]
    h = HistogramMetricFamily("lat", "h", buckets=[("0.5", 1), ("+Inf", 4)], sum_value=2.0)
    assert [(s.name, s.labels, s.value) for s in h.samples] == [
        ("lat_bucket", {"le": "0.5"}, 1),
        ("lat_bucket", {"le": "+Inf"}, 4),
        ("lat_count", {}, 4),
        ("lat_sum", {}, 2.0),
    ]
    s = SummaryMetricFamily("rt", "h", labels=["m"])
    s.add_metric(["get"], 2, 0.3, quantiles=[(0.5, 0.1)])
    assert s.samples[0].labels == {"m": "get", "quantile": "0.5"}
    i = InfoMetricFamily("build", "h", value={"version": "1"})
    assert i.samples[0].name == "build_info"
    st = StateSetMetricFamily("state", "h", value={"a": True, "b": False})
    assert [(x.labels["state"], x.value) for x in st.samples] == [("a", 1.0), ("b", 0.0)]


def test_unit_is_appended_and_bad_names_rejected():
    assert GaugeMetricFamily("size", "h", value=1, unit="bytes").name == "size_bytes"
    with pytest.raises(ValueError):
        GaugeMetricFamily("1bad", "h", value=1)
    with pytest.raises(ValueError):
        CounterMetricFamily("x", "h", value=1, labels=["a"])


def test_restricted_registry_filters_by_sample_name():
    reg = CollectorRegistry()
    reg.register(Custom())
    names = [s.name for f in reg.restricted_registry(["jobs_total"]).collect() for s in f.samples]
    assert names == ["jobs_total"]


def test_bucket_bounds_are_spelled_as_our_histogram_spells_them():
    from watchkeeper import Histogram

    reg = CollectorRegistry()
    Histogram("h", "h", buckets=[0.5, 1e6], registry=reg).observe(1)
    ours = {s.labels["le"] for f in reg.collect() for s in f.samples if "le" in s.labels}
    fam = HistogramMetricFamily("c", "h", buckets=[(0.5, 0), (1e6, 1), (float("inf"), 1)],
                                sum_value=1)
    assert {s.labels["le"] for s in fam.samples if "le" in s.labels} == ours == {
        "0.5", "1e+06", "+Inf"}
