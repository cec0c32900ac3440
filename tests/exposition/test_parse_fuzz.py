"""Whatever the input, the parsers either return families or raise ParseError: nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper import ParseError
from watchkeeper.exposition.parse import (
    openmetrics_fd_to_metric_families,
    openmetrics_string_to_metric_families,
    parse,
    text_fd_to_metric_families,
    text_string_to_metric_families,
)

# Fragments of real exposition lines, so the fuzzer reaches deep into the grammar instead
# of failing on the first character every time.
FRAGMENTS = [
    "# HELP ", "# TYPE ", "# UNIT ", "# EOF", "#", " ", "\t", "\n", "\r", "{", "}", "=", ",",
    '"', "\\", "\\n", '\\"', "a", "a_total", "a_bucket", "a_count", "a_sum", "a_created",
    "a_info", "le", "quantile", "+Inf", "-Inf", "NaN", "1", "0.5", "-1", "1e3", "1_0",
    "1700000000", " # {", "counter", "gauge", "histogram", "summary", "untyped", "unknown",
    "info", "stateset", "gaugehistogram", "ü", "\x00", "\u2028", "0x1p3",
]

exposition_like = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
settings_ = settings(max_examples=400, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


def _consume(families) -> None:
    for fam in families:
        for sample in fam.samples:
            assert isinstance(sample.value, float)
            assert all(isinstance(k, str) and isinstance(v, str)
                       for k, v in sample.labels.items())


def _only_parse_errors(call, data) -> None:
    try:
        _consume(call(data))
    except ParseError as e:
        assert e.line >= 1 and e.column >= 1
        assert f"line {e.line}" in str(e)


@settings_
@given(st.one_of(exposition_like, st.text(max_size=200)))
def test_text_strings_give_families_or_parse_error(text):
    _only_parse_errors(text_string_to_metric_families, text)
    _only_parse_errors(openmetrics_string_to_metric_families, text)


@settings_
@given(st.binary(max_size=200) | exposition_like.map(str.encode))
def test_arbitrary_bytes_give_families_or_parse_error(data):
    for ctype in (None, "application/openmetrics-text; version=1.0.0"):
        try:
            _consume(parse(data, ctype))
        except ParseError:
            pass


@settings_
@given(st.binary(max_size=200) | exposition_like.map(str.encode))
def test_fd_variants_on_binary_lines_give_families_or_parse_error(data):
    lines = data.splitlines(keepends=True)
    _only_parse_errors(text_fd_to_metric_families, lines)
    _only_parse_errors(openmetrics_fd_to_metric_families, lines)


@settings_
@given(exposition_like)
def test_string_and_fd_variants_agree(text):
    def outcome(call, arg):
        try:
            return [(f.name, f.type, f.samples) for f in call(arg)]
        except ParseError as e:
            return ("error", e.line)

    lines = text.splitlines(keepends=True) if "\r" not in text else None
    if lines is None or any(c in text for c in "\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029"):
        return  # splitlines breaks lines where the formats do not
    same_text = outcome(text_string_to_metric_families, text)
    assert repr(outcome(text_fd_to_metric_families, lines)) == repr(same_text)
    same_om = outcome(openmetrics_string_to_metric_families, text)
    assert repr(outcome(openmetrics_fd_to_metric_families, lines)) == repr(same_om)


VALID_TEXT = """\
# HELP http_requests_total Requests \\ with\\n escapes.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="get",code="200"} 3
# TYPE latency_seconds histogram
latency_seconds_bucket{path="/a\\"b",le="0.5"} 1
latency_seconds_bucket{path="/a\\"b",le="+Inf"} 2
latency_seconds_sum{path="/a\\"b"} 0.7
latency_seconds_count{path="/a\\"b"} 2
"""
VALID_OPENMETRICS = """\
# HELP jobs Jobs.
# TYPE jobs counter
jobs_total{queue="a",kind="x"} 1 # {trace_id="t"} 0.5 1700000000
jobs_created{queue="a",kind="x"} 1700000000
jobs_total{queue="b",kind="x"} 2
# TYPE latency_seconds histogram
# UNIT latency_seconds seconds
latency_seconds_bucket{path="/",le="0.5"} 1 1700000000.5
latency_seconds_bucket{path="/",le="+Inf"} 2 1700000000.5
latency_seconds_count{path="/"} 2 1700000000.5
latency_seconds_sum{path="/"} 0.7 1700000000.5
# EOF
"""
edit = st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from(["delete", "insert"]),
                 st.sampled_from(list('\\"\n{}=, #\tab_01.+-eInfNa')))


def _apply(text: str, edits: list[tuple[int, str, str]]) -> str:
    for position, kind, char in edits:
        i = position % (len(text) + 1)
        text = text[:i] + text[i + 1:] if kind == "delete" else text[:i] + char + text[i:]
    return text


@settings_
@given(st.sampled_from([VALID_TEXT, VALID_OPENMETRICS]), st.lists(edit, min_size=1, max_size=3))
def test_edited_valid_exposition_gives_families_or_parse_error(text, edits):
    mutated = _apply(text, edits)
    _only_parse_errors(text_string_to_metric_families, mutated)
    _only_parse_errors(openmetrics_string_to_metric_families, mutated)


def test_the_unedited_inputs_are_valid():
    assert len(list(text_string_to_metric_families(VALID_TEXT))) == 2
    assert len(list(openmetrics_string_to_metric_families(VALID_OPENMETRICS))) == 2
