"""The generic renderers against prometheus_client's output and the formats' rules."""

from __future__ import annotations

import math
import re

import prometheus_client
import prometheus_client.core as pc_core
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics import exposition as pc_om
from prometheus_client.openmetrics import parser as pc_om_parser
from prometheus_client.parser import text_string_to_metric_families as pc_parse_text

from watchkeeper.exposition import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_OPENMETRICS,
    generate_latest,
    generate_openmetrics,
)
from watchkeeper.exposition.render import escape_label_value, format_value
from watchkeeper.metrics import family as wk
from watchkeeper.metrics.registry import CollectorRegistry

HOSTILE = 'a\\b"c\nd ünï 漢字 {x="y"} # EOF'


def _families(mod):
    """The same families built with either library's classes (labels in sorted order)."""
    c = mod.CounterMetricFamily("requests", "Requests\\ served\nsecond line",
                                labels=["code", "path"])
    c.add_metric(["200", HOSTILE], 3.0, created=1700000000.5)
    c.add_metric(["500", "/"], 1e21)
    g = mod.GaugeMetricFamily("temperature", "T", labels=["room"], unit="celsius")
    g.add_metric(["a"], -math.inf)
    g.add_metric(["b"], math.inf)
    g.add_metric(["c"], 0.1, timestamp=1700000000.25)
    g.add_metric(["d"], 1234567.0)
    h = mod.HistogramMetricFamily("latency_seconds", "L", labels=["m"])
    h.add_metric(["get"], [("0.1", 2.0), ("1.0", 5.0), ("+Inf", 6.0)], 3.5)
    s = mod.SummaryMetricFamily("size", "S", count_value=4, sum_value=10.0)
    i = mod.InfoMetricFamily("build", "B", value={"version": "1.2"})
    e = mod.StateSetMetricFamily("state", "E", value={"up": True, "down": False})
    gh = mod.GaugeHistogramMetricFamily("queue", "Q", buckets=[("1.0", 1.0), ("+Inf", 2.0)],
                                        gsum_value=3.0)
    u = mod.UnknownMetricFamily("mystery", "M", value=7)
    return [c, g, h, s, i, e, gh, u]


class _Collector:
    def __init__(self, mod):
        self.mod = mod

    def collect(self):
        return _families(self.mod)


def _registries():
    ours = CollectorRegistry()
    ours.register(_Collector(wk))
    theirs = prometheus_client.CollectorRegistry()
    theirs.register(_Collector(pc_core))
    return ours, theirs


def test_text_equals_prometheus_client_for_custom_collectors():
    ours, theirs = _registries()
    mine = generate_latest(ours).decode()
    ref = prometheus_client.generate_latest(theirs).decode()
    assert list(pc_parse_text(mine)) == list(pc_parse_text(ref))
    # Line for line the same, except that labels keep the collector's order (not sorted).
    assert sorted(_sorted_labels(mine).splitlines()) == sorted(ref.splitlines())


def _sorted_labels(text):
    def sort(m):
        return "{" + ",".join(sorted(m.group(1).split(","))) + "}"
    return re.sub(r"\{([^{}\n]*le=[^{}\n]*)\}", sort, text)


def test_openmetrics_parses_to_the_same_families_as_prometheus_client():
    ours, theirs = _registries()
    mine = generate_openmetrics(ours).decode()
    ref = pc_om.generate_latest(theirs).decode()
    assert mine.endswith("# EOF\n")
    assert list(pc_om_parser.text_string_to_metric_families(mine)) == list(
        pc_om_parser.text_string_to_metric_families(ref)
    )


def test_hostile_label_values_round_trip_through_a_parser():
    ours, _ = _registries()
    fams = {f.name: f for f in pc_parse_text(generate_latest(ours).decode())}
    values = {s.labels.get("path") for s in fams["requests"].samples}
    assert HOSTILE in values


def test_escaping_rules():
    assert escape_label_value('\\"\n') == '\\\\\\"\\n'
    reg = CollectorRegistry()
    reg.register(_Collector(wk))
    text = generate_latest(reg).decode()
    assert "# HELP requests_total Requests\\\\ served\\nsecond line\n" in text
    om = generate_openmetrics(reg).decode()
    assert "# UNIT temperature_celsius celsius\n" in om


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, "1.0"), (0.5, "0.5"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"),
     (1234567.0, "1.234567e+06"), (-2.5, "-2.5"), (1e-9, "1e-09"), (True, "1.0")],
)
def test_format_value_matches_go(value, expected):
    assert format_value(value) == expected
    assert format_value(value) == prometheus_client.utils.floatToGoString(value)


def test_exemplars_in_openmetrics_only_on_counters_and_buckets():
    c = wk.CounterMetricFamily("hits", "H", labels=["a"])
    c.add_metric(["x"], 2, exemplar=wk.Exemplar({"trace_id": "abc"}, 1.0, 1700000000.5))
    reg = CollectorRegistry()
    reg.register(_Families([c]))
    om = generate_openmetrics(reg).decode()
    assert 'hits_total{a="x"} 2.0 # {trace_id="abc"} 1.0 1700000000.5\n' in om
    assert "trace_id" not in generate_latest(reg).decode()
    g = wk.Metric("temp", "T", "gauge")
    g.add_sample("temp", {}, 1.0, exemplar=wk.Exemplar({"a": "b"}, 1.0))
    bad = CollectorRegistry()
    bad.register(_Families([g]))
    with pytest.raises(ValueError, match="exemplars"):
        generate_openmetrics(bad)


def test_target_info_and_restricted_registry():
    reg = CollectorRegistry(target_info={"service": "api"})
    reg.register(_Collector(wk))
    text = generate_latest(reg).decode()
    assert 'target_info{service="api"} 1.0' in text
    only = generate_latest(reg.restricted_registry(["size_sum", "mystery"])).decode()
    assert "size_sum 10.0" in only and "mystery 7.0" in only
    assert "requests" not in only


def test_content_types():
    assert CONTENT_TYPE_LATEST == prometheus_client.exposition.CONTENT_TYPE_PLAIN_0_0_4
    assert CONTENT_TYPE_OPENMETRICS == pc_om.CONTENT_TYPE_LATEST


class _Families:
    def __init__(self, fams):
        self.fams = fams

    def collect(self):
        return self.fams


_label_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
# HELP ends at the line break and parsers trim surrounding blanks: keep those out of it.
_help = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"))
                | st.sampled_from(["\n", "\\", '"', " "]), max_size=30).map(str.strip)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_label_values, min_size=1, max_size=5, unique=True),
       help_text=_help,
       number=st.floats(allow_nan=False) | st.sampled_from([math.inf, -math.inf]))
def test_any_label_value_and_help_survive_a_parser(values, help_text, number):
    reg = CollectorRegistry()
    fam = wk.GaugeMetricFamily("g", help_text, labels=["v"])
    for v in values:
        fam.add_metric([v], number)
    reg.register(_Families([fam]))
    for text, parse in ((generate_latest(reg).decode(), pc_parse_text),
                        (generate_openmetrics(reg).decode(),
                         pc_om_parser.text_string_to_metric_families)):
        (parsed,) = list(parse(text))
        assert parsed.documentation == help_text
        assert [(s.labels["v"], s.value) for s in parsed.samples] == [
            (v, number) for v in values]
