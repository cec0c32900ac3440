"""parse(render(registry)) gives back the registry: every type, hostile labels, odd values."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper import text_string_to_metric_families
from watchkeeper.exposition import generate_latest, generate_openmetrics
from watchkeeper.exposition.parse import openmetrics_string_to_metric_families, parse
from watchkeeper.metrics import (
    CollectorRegistry,
    CounterMetricFamily,
    Exemplar,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)

# Label values and help texts that break naive renderers and parsers.
hostile_text = st.text(
    alphabet=st.one_of(st.sampled_from('\\"\n{}=,# \t'), st.characters(
        blacklist_categories=("Cs",))),
    max_size=12,
)
label_name = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: not n.startswith("__") and n not in ("le", "quantile"))
any_float = st.floats(allow_nan=True, allow_infinity=True)
non_negative = st.floats(min_value=0, allow_nan=False, allow_infinity=True)
count = st.integers(min_value=0, max_value=10**12).map(float)
# Any millisecond: the text format carries milliseconds, so each must come back exactly.
timestamp_ms = st.one_of(st.none(), st.integers(min_value=0, max_value=4 * 10**12))
exemplar = st.one_of(st.none(), st.builds(
    Exemplar,
    st.dictionaries(st.sampled_from(["trace_id", "span_id"]), st.text(max_size=20), max_size=2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.one_of(st.none(), st.integers(min_value=0, max_value=4 * 10**12).map(lambda t: t / 1000)),
))


def _ts(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


@st.composite
def family(draw, name: str) -> Metric:
    kind = draw(st.sampled_from(["counter", "gauge", "unknown", "histogram", "summary", "info",
                                 "stateset", "gaugehistogram"]))
    doc = draw(hostile_text)
    labelnames = draw(st.lists(label_name, max_size=3, unique=True).filter(
        lambda ns: name not in ns))
    children = draw(st.lists(st.tuples(*[hostile_text] * len(labelnames)), max_size=3,
                             unique=True))
    ts = _ts(draw(timestamp_ms))  # one timestamp per family keeps OpenMetrics groups valid
    unit = draw(st.sampled_from(["", "seconds"])) if kind not in ("info", "stateset") else ""
    if kind == "counter":
        fam = CounterMetricFamily(name, doc, labels=labelnames, unit=unit)
        for values in children:
            fam.add_metric(values, draw(non_negative), created=draw(st.one_of(
                st.none(), non_negative)), timestamp=ts, exemplar=draw(exemplar))
    elif kind in ("gauge", "unknown"):
        cls = GaugeMetricFamily if kind == "gauge" else UnknownMetricFamily
        fam = cls(name, doc, labels=labelnames, unit=unit)
        for values in children:
            fam.add_metric(values, draw(any_float), timestamp=ts)
    elif kind in ("histogram", "gaugehistogram"):
        cls = HistogramMetricFamily if kind == "histogram" else GaugeHistogramMetricFamily
        fam = cls(name, doc, labels=labelnames, unit=unit)
        bounds = sorted(draw(st.lists(st.floats(min_value=0, max_value=1e6), max_size=4,
                                      unique=True)))
        for values in children:
            counts = sorted(draw(st.lists(count, min_size=len(bounds) + 1,
                                          max_size=len(bounds) + 1)))
            buckets = [(b, c, draw(exemplar)) for b, c in zip(bounds, counts, strict=False)]
            buckets.append(("+Inf", counts[-1], draw(exemplar)))
            fam.add_metric(values, buckets, draw(non_negative), timestamp=ts)
    elif kind == "summary":
        fam = SummaryMetricFamily(name, doc, labels=labelnames, unit=unit)
        for values in children:
            quantiles = [(q, draw(non_negative)) for q in sorted(draw(st.lists(
                st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]), max_size=3, unique=True)))]
            fam.add_metric(values, draw(count), draw(non_negative), timestamp=ts,
                           quantiles=quantiles)
    elif kind == "info":
        fam = InfoMetricFamily(name, doc, labels=labelnames)
        extra = draw(st.dictionaries(label_name.filter(lambda n: n not in labelnames),
                                     hostile_text, max_size=2))
        for values in children:
            fam.add_metric(values, extra, timestamp=ts)
    else:
        fam = StateSetMetricFamily(name, doc, labels=labelnames)
        states = draw(st.dictionaries(hostile_text, st.booleans(), min_size=1, max_size=3))
        for values in children:
            fam.add_metric(values, states, timestamp=ts)
    return fam


@st.composite
def registries(draw) -> tuple[CollectorRegistry, list[Metric]]:
    count_ = draw(st.integers(min_value=0, max_value=4))
    # A distinct prefix per family: no family's name can be another's name plus a suffix.
    families = [draw(family(f"m{i}_" + draw(st.from_regex(r"[a-z][a-z0-9_]{0,6}",
                                                          fullmatch=True))))
                for i in range(count_)]
    reg = CollectorRegistry()
    reg.register(_Fixed(families))
    return reg, families


class _Fixed:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def _key(v: float) -> object:
    return "NaN" if math.isnan(v) else v


def _samples(families, with_exemplars: bool) -> list:
    out = []
    for fam in families:
        for s in fam.samples:
            ex = s.exemplar if with_exemplars else None
            out.append((s.name, sorted(s.labels.items()), _key(s.value), s.timestamp,
                        None if ex is None else (ex.labels, _key(ex.value), ex.timestamp)))
    return out


def _families(families, with_exemplars: bool = True) -> list:
    return [(f.name, f.type, f.documentation, f.unit, _samples([f], with_exemplars))
            for f in families]


roundtrip_settings = settings(max_examples=150, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.data_too_large])


@roundtrip_settings
@given(registries())
def test_openmetrics_roundtrip_gives_back_the_same_families(case):
    reg, families = case
    body = generate_openmetrics(reg)
    parsed = list(openmetrics_string_to_metric_families(body.decode()))
    assert _families(parsed) == _families(families)
    assert _families(parse(body, "application/openmetrics-text; version=1.0.0")) == _families(
        families)


_TEXT_TYPES = {"info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram"}


@roundtrip_settings
@given(registries())
def test_text_roundtrip_gives_back_the_same_samples_and_types(case):
    reg, families = case
    body = generate_latest(reg)
    parsed = list(text_string_to_metric_families(body.decode()))
    # Text 0.0.4 has no exemplars, and moves _created/_gsum/_gcount into gauges of their own.
    key = lambda s: repr(s)  # noqa: E731 - a sort key for mixed tuples
    assert sorted(_samples(parsed, False), key=key) == sorted(
        _samples(families, False), key=key)
    by_name = {f.name: f for f in parsed}
    for fam in families:
        name = fam.name + "_info" if fam.type == "info" else fam.name
        got = by_name[name]
        assert got.type == _TEXT_TYPES.get(fam.type, fam.type)
        assert got.documentation == fam.documentation


def test_text_roundtrip_keeps_millisecond_timestamps_exact():
    fam = GaugeMetricFamily("stamped", "S", labels=["i"])
    stamps = [1078596116337, 270830159580, 2148312269996]
    for i, ms in enumerate(stamps):
        fam.add_metric([str(i)], 1.0, timestamp=ms / 1000)
    reg = CollectorRegistry()
    reg.register(_Fixed([fam]))
    (parsed,) = text_string_to_metric_families(generate_latest(reg).decode())
    assert [round(s.timestamp * 1000) for s in parsed.samples] == stamps
