"""Prometheus text 0.0.4: what Prometheus accepts comes back as families, the rest as errors."""

from __future__ import annotations

import io
import math

import pytest

from watchkeeper import ParseError, text_fd_to_metric_families, text_string_to_metric_families
from watchkeeper.exposition.parse import parse

EXAMPLE = """\
# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",\
error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
"""


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_the_exposition_format_example_parses_into_typed_families():
    fams = families(EXAMPLE)
    assert list(fams) == [
        "http_requests", "msdos_file_access_time_seconds",
        "metric_without_timestamp_and_labels", "something_weird",
        "http_request_duration_seconds", "rpc_duration_seconds",
    ]
    requests = fams["http_requests"]
    assert requests.type == "counter"
    assert requests.documentation == "The total number of HTTP requests."
    assert [(s.name, s.labels, s.value, s.timestamp) for s in requests.samples] == [
        ("http_requests_total", {"method": "post", "code": "200"}, 1027.0, 1395066363.0),
        ("http_requests_total", {"method": "post", "code": "400"}, 3.0, 1395066363.0),
    ]
    msdos = fams["msdos_file_access_time_seconds"].samples[0]
    assert msdos.labels == {"path": "C:\\DIR\\FILE.TXT", "error": 'Cannot find file:\n"FILE.TXT"'}
    assert fams["metric_without_timestamp_and_labels"].type == "unknown"
    weird = fams["something_weird"].samples[0]
    assert weird.value == math.inf and weird.timestamp == -3982.045
    hist = fams["http_request_duration_seconds"]
    assert hist.type == "histogram"
    assert [s.name for s in hist.samples] == ["http_request_duration_seconds_bucket"] * 3 + [
        "http_request_duration_seconds_sum", "http_request_duration_seconds_count"]
    assert hist.samples[2].labels == {"le": "+Inf"}
    summary = fams["rpc_duration_seconds"]
    assert summary.type == "summary"
    assert [s.value for s in summary.samples] == [3102, 76656, 1.7560473e07, 2693]


def test_values_include_nan_and_both_infinities():
    fams = families("a NaN\nb -Inf\nc +Inf\nd Inf\ne 1e-3\nf -0.5\n")
    assert math.isnan(fams["a"].samples[0].value)
    assert [fams[n].samples[0].value for n in "bcdef"] == [-math.inf, math.inf, math.inf,
                                                          0.001, -0.5]


def test_counter_named_without_total_gets_total_samples_like_prometheus_client():
    fam = families("# TYPE jobs counter\njobs 3\n")["jobs"]
    assert fam.type == "counter"
    assert [s.name for s in fam.samples] == ["jobs_total"]


def test_samples_without_metadata_group_by_name():
    fams = list(text_string_to_metric_families('a{x="1"} 1\na{x="2"} 2\nb 3\n'))
    assert [(f.name, f.type, len(f.samples)) for f in fams] == [("a", "unknown", 2),
                                                               ("b", "unknown", 1)]


def test_histogram_created_series_outside_the_type_becomes_its_own_family():
    text = ("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 2\n"
            "h_created 1700000000\n")
    fams = list(text_string_to_metric_families(text))
    assert [(f.name, f.type) for f in fams] == [("h", "histogram"), ("h_created", "unknown")]


def test_whitespace_tabs_trailing_comma_and_unknown_escapes_are_accepted():
    fam = families('  a {x = "1" ,\ty="p\\tq",} \t 2 \t 1000 \n')["a"]
    assert fam.samples[0].labels == {"x": "1", "y": "p\\tq"}
    assert fam.samples[0].value == 2.0 and fam.samples[0].timestamp == 1.0


def test_help_unescapes_backslash_and_newline_only():
    fam = families('# HELP a x\\\\y\\nz \\"q\\"\n# TYPE a gauge\na 1\n')["a"]
    assert fam.documentation == 'x\\y\nz \\"q\\"'


def test_comments_and_blank_lines_are_ignored():
    fams = families("# just a comment\n#\n\n#HELP not metadata\na 1\n\n")
    assert list(fams) == ["a"] and fams["a"].samples[0].value == 1.0


def test_carriage_returns_are_rejected_as_prometheus_does():
    with pytest.raises(ParseError, match="invalid sample value"):
        list(text_string_to_metric_families("a 1\r\n"))


def test_type_with_empty_family_and_help_without_text():
    fams = list(text_string_to_metric_families("# HELP a\n# TYPE b gauge\n"))
    assert [(f.name, f.documentation, f.type, f.samples) for f in fams] == [
        ("a", "", "unknown", []), ("b", "", "gauge", [])]


def test_fd_variant_streams_str_and_bytes_lines():
    text = '# TYPE a gauge\na{x="ü"} 1\n'
    for fd in (io.StringIO(text), io.BytesIO(text.encode())):
        (fam,) = text_fd_to_metric_families(fd)
        assert fam.samples[0].labels == {"x": "ü"}


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('a{x="1} 1\n', 1, 5, "unterminated"),
        ("a 1\nb 1x\n", 2, 3, "invalid sample value"),
        ("a 1_000\n", 1, 3, "invalid sample value"),
        ("a 0x10\n", 1, 3, "invalid sample value"),
        ("a -nan\n", 1, 3, "invalid sample value"),
        ('a{x="1",x="2"} 1\n', 1, 9, "duplicate label"),
        ("# TYPE a bogus\n", 1, 10, "expected counter"),
        ("# TYPE a\n", 1, 9, "metric type"),
        ("a 1 2.5\n", 1, 5, "integer timestamp"),
        ("a 1 2 3\n", 1, 7, "end of line"),
        ("a\n", 1, 2, "after the metric name"),
        ("1a 2\n", 1, 1, "metric name"),
        ('a{1x="1"} 1\n', 1, 3, "label name"),
        ('a{x="1" y="2"} 1\n', 1, 9, "',' or '}'"),
        ("a{x=1} 1\n", 1, 5, "opening a label value"),
        ('a{x="1"}\n', 1, 9, "sample value"),
        ("a 1e999\n", 1, 3, "invalid sample value"),
    ],
)
def test_rejections_name_line_and_column(text, line, column, words):
    with pytest.raises(ParseError) as info:
        list(text_string_to_metric_families(text))
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.line, err.column) == (line, column), str(err)
    assert words in str(err)
    assert f"line {line}, column {column}" in str(err)


def test_parse_picks_text_for_missing_or_plain_content_type():
    body = b"# TYPE a gauge\na 1\n"
    for ctype in (None, "text/plain; version=0.0.4; charset=utf-8", "application/json"):
        (fam,) = parse(body, ctype)
        assert fam.type == "gauge"


def test_parse_reports_invalid_utf8_position():
    with pytest.raises(ParseError) as info:
        parse(b'a 1\nb{x="\xff"} 1\n', None)
    assert (info.value.line, info.value.column) == (2, 6)


def test_parser_module_is_a_drop_in_for_prometheus_client_parser():
    import prometheus_client.parser as theirs

    import watchkeeper.parser as ours

    for name in ("text_string_to_metric_families", "text_fd_to_metric_families"):
        assert callable(getattr(theirs, name)) and callable(getattr(ours, name))
    (fam,) = ours.text_string_to_metric_families("# TYPE up gauge\nup 1\n")
    assert (fam.name, fam.samples[0].value) == ("up", 1.0)
