import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.mcp.shapes import fit, human, num, parse_span, parse_when, size, sparkline


def test_numbers_read_as_a_person_reads_them():
    assert num(1234567.0) == 1235000.0 and num(float("nan")) is None
    assert num(float("inf")) is None and num("x") is None
    assert human(1.3 * 2**30, "bytes") == "1.3 GiB"
    assert human(0.34, "seconds") == "340 ms" and human(7200, "seconds") == "2 h"
    assert human(0.52, "ratio") == "52 %" and human(None) == "null"


def test_times_accept_what_people_type():
    now = 1_800_000_000.0
    assert parse_when("now-1h", now) == now - 3600
    assert parse_when("1h", now) == now - 3600
    assert parse_when("2027-01-15T08:00:00Z", now) == 1_799_999_999 - 1_799_999_999 + \
        __import__("datetime").datetime(2027, 1, 15, 8, tzinfo=__import__(
            "datetime").UTC).timestamp()
    assert parse_when("1800000000", now) == 1_800_000_000
    assert parse_span("7d", "1h") == 7 * 86400
    with pytest.raises(ValueError, match="not understood"):
        parse_when("yesterday-ish", now)
    with pytest.raises(ValueError, match="not understood"):
        parse_span("soon", "1h")


@given(st.text(max_size=40))
def test_any_time_text_parses_or_names_the_problem(text):
    try:
        parse_when(text, 1e9)
    except ValueError as e:
        assert "not understood" in str(e)


def test_sparkline_is_short_and_keeps_gaps():
    assert sparkline([1, 2, 3, 4], width=4) == "▁▃▆█"
    assert len(sparkline(list(range(1000)))) == 16
    assert sparkline([float("nan")] * 3) == "   "


def test_fit_cuts_at_the_budget_and_says_how_to_narrow():
    items = [{"series": f"s{i}", "v": "x" * 100} for i in range(500)]
    out = fit(items, {"expr": "up"}, "series", 8192, "sum by (job) (up)")
    assert size(out) <= 8192
    assert out["truncated"] and out["total"] == 500 and out["cursor"] == len(out["series"])
    assert out["narrow"] == "sum by (job) (up)"
    small = fit(items[:3], {}, "series", 8192, "")
    assert "truncated" not in small and len(small["series"]) == 3


@given(st.floats(1.6e9, 1.9e9), st.floats(1, 30 * 86400))
def test_a_default_grid_covers_the_range_on_whole_minutes(end, span):
    from watchkeeper.mcp.shapes import default_grid

    start, stop, step = default_grid(end - span, end)
    assert start <= end - span + 1e-6 and stop >= end - 1e-6  # the whole range
    assert (stop - start) / step <= 122  # about 120 points
    if span >= 3600:  # on minutes: the store can answer from its rollups
        assert step % 60 == 0 and start % 60 == 0 and stop % 60 == 0
        assert stop - end < step
