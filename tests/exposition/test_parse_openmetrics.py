"""OpenMetrics 1.0: families with units and exemplars, and the format's rules enforced."""

from __future__ import annotations

import io
import math

import pytest

from watchkeeper import Exemplar, ParseError
from watchkeeper.exposition.parse import (
    openmetrics_fd_to_metric_families,
    openmetrics_string_to_metric_families,
    parse,
)

EXAMPLE = """\
# HELP request_seconds Time spent.
# TYPE request_seconds histogram
# UNIT request_seconds seconds
request_seconds_bucket{path="/",le="0.1"} 2 # {trace_id="abc"} 0.05 1700000000.5
request_seconds_bucket{path="/",le="+Inf"} 3
request_seconds_count{path="/"} 3
request_seconds_sum{path="/"} 1.5
request_seconds_created{path="/"} 1700000000
# TYPE jobs counter
jobs_total 4 1700000001.25
jobs_created 1700000000 1700000001.25
# TYPE build info
build_info{version="1.2"} 1
# TYPE state stateset
state{state="a"} 1
state{state="b"} 0
# TYPE temp gauge
temp -3.5
# TYPE lat summary
lat{quantile="0.5"} NaN
lat_sum 0
lat_count 0
# TYPE g gaugehistogram
g_bucket{le="-1"} 1
g_bucket{le="+Inf"} 2
g_gcount 2
g_gsum -1
mystery 7
# EOF
"""


def families(text: str) -> dict:
    return {f.name: f for f in openmetrics_string_to_metric_families(text)}


def test_every_type_parses_with_units_exemplars_and_timestamps():
    fams = families(EXAMPLE)
    assert [(n, f.type) for n, f in fams.items()] == [
        ("request_seconds", "histogram"), ("jobs", "counter"), ("build", "info"),
        ("state", "stateset"), ("temp", "gauge"), ("lat", "summary"),
        ("g", "gaugehistogram"), ("mystery", "unknown"),
    ]
    hist = fams["request_seconds"]
    assert hist.unit == "seconds" and hist.documentation == "Time spent."
    first = hist.samples[0]
    assert first.labels == {"path": "/", "le": "0.1"}
    assert first.exemplar == Exemplar({"trace_id": "abc"}, 0.05, 1700000000.5)
    assert [s.name for s in fams["jobs"].samples] == ["jobs_total", "jobs_created"]
    assert fams["jobs"].samples[0].timestamp == 1700000001.25
    assert fams["build"].samples[0].name == "build_info"
    assert math.isnan(fams["lat"].samples[0].value)


def test_fd_variant_reads_binary_and_text_files():
    for fd in (io.StringIO(EXAMPLE), io.BytesIO(EXAMPLE.encode())):
        assert len(list(openmetrics_fd_to_metric_families(fd))) == 8


def test_parse_picks_openmetrics_from_content_type():
    body = b"# TYPE a counter\na_total 1\n# EOF\n"
    (fam,) = parse(body, "application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert (fam.name, fam.type) == ("a", "counter")


def test_eof_without_final_newline_is_accepted():
    assert families("a 1\n# EOF")["a"].samples[0].value == 1.0


def test_help_unescapes_quote_too():
    assert families('# HELP a say \\"hi\\"\\n\n# EOF\n')["a"].documentation == 'say "hi"\n'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a 1\n", 2, "# EOF"),
        ("a 1\n\n# EOF\n", 2, "blank line"),
        ("a 1\n# EOF\na 2\n", 3, "after # EOF"),
        ("# EOF\n\n", 2, "after # EOF"),
        ("# comment here\n# EOF\n", 1, "HELP, TYPE, UNIT or EOF"),
        ("a  1\n# EOF\n", 1, "sample value"),
        ("a 1 \n# EOF\n", 1, "timestamp"),
        ('a{x="1", y="2"} 1\n# EOF\n', 1, "label name"),
        ("# TYPE a untyped\n# EOF\n", 1, "OpenMetrics type"),
        ("# TYPE a gauge\n# TYPE a gauge\n# EOF\n", 2, "second TYPE"),
        ("# HELP a x\n# HELP a y\n# EOF\n", 2, "second HELP"),
        ("# TYPE a gauge\na 1\n# HELP a x\n# EOF\n", 3, "after its samples"),
        ("# TYPE a_total counter\na_total 1\n# EOF\n", 2, "clashes"),
        ("# TYPE a counter\na_total -1\n# EOF\n", 2, "negative"),
        ("# TYPE a counter\na_total NaN\n# EOF\n", 2, "NaN"),
        ("# TYPE a gauge\na 1 # {t=\"1\"} 1\n# EOF\n", 2, "exemplars"),
        ("# TYPE a info\na_info 2\n# EOF\n", 2, "value 1"),
        ('# TYPE a stateset\na{b="x"} 1\n# EOF\n', 2, "stateset"),
        ('# TYPE a stateset\na{a="x"} 2\n# EOF\n', 2, "0 or 1"),
        ('# TYPE h histogram\nh_bucket{le="1"} 1\n# EOF\n', 2, "+Inf"),
        ('# TYPE h histogram\nh_bucket{le="inf"} 1\n# EOF\n', 2, "le label"),
        ('# TYPE h histogram\nh_bucket{le="+Inf"} 1.5\n# EOF\n', 2, "integers"),
        ('# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\n'
         'h_bucket{le="+Inf"} 1\n# EOF\n', 4, "out of order"),
        ('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 1\nh_sum 1\n# EOF\n', 4,
         "_count differs"),
        ('# TYPE s summary\ns{quantile="2"} 1\n# EOF\n', 2, "quantile"),
        ('# TYPE a gauge\na{x="1"} 1\na{x="2"} 1\na{x="1"} 1\n# EOF\n', 4, "contiguous"),
        ("# TYPE a gauge\na 1 10\na 1 5\n# EOF\n", 3, "backwards"),
        ("# TYPE a gauge\na 1 10\na 1\n# EOF\n", 3, "mix"),
        ("# TYPE a_x gauge\n# UNIT a_x y\n# EOF\n", 3, "suffix"),
        ('a 1 # {x="' + "y" * 130 + '"} 1\n# EOF\n', 1, "exemplar labels longer"),
        ("a 1 NaN\n# EOF\n", 1, "timestamp"),
        ('a{x="1",y="} 1\n# EOF\n', 1, "unterminated"),
        ('# TYPE h histogram\nh_bucket{x="1",le="} 1\n# EOF\n', 2, "unterminated"),
    ],
)
def test_rejections_name_the_line(text, line, words):
    with pytest.raises(ParseError) as info:
        list(openmetrics_string_to_metric_families(text))
    assert info.value.line == line, str(info.value)
    assert words in str(info.value)


def test_duplicate_samples_from_timestamp_truncation_are_dropped():
    fam = families("# TYPE a gauge\na 1 10\na 2 10\n# EOF\n")["a"]
    assert [s.value for s in fam.samples] == [1.0]
