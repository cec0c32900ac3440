"""Cron schedules: crontab(5)'s five fields, fuzzed (valid ones fire exactly on their first
matching minute; any text parses or is refused with a CronError, nothing else)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.reports.cron import Cron, CronError, parse_cron

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("expr, after, expected", [
    ("0 8 * * mon", "2026-12-04 09:00", "2026-12-07 08:00"),  # a Friday: next Monday
    ("*/15 * * * *", "2026-12-04 09:07", "2026-12-04 09:15"),
    ("@weekly", "2026-12-04 09:00", "2026-12-06 00:00"),  # Sunday midnight
    ("@monthly", "2026-12-04 09:00", "2027-01-01 00:00"),
    ("30 6 * * 7", "2026-12-04 09:00", "2026-12-06 06:30"),  # 7 is Sunday too
    ("0 0 1,15 * fri", "2026-12-05 00:00", "2026-12-11 00:00"),  # either day field
    ("0 0 */10 * *", "2026-12-04 00:00", "2026-12-11 00:00"),  # */ counts as unrestricted
    ("0 9 * jan-mar 1-5", "2026-12-04 09:00", "2027-01-01 09:00"),
    ("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00"),
    ("59 23 31 12 *", "2026-12-31 23:59", "2027-12-31 23:59"),  # strictly after
])
def test_next_firing(expr, after, expected):
    assert parse_cron(expr).next_after(at(after)) == at(expected)


def test_wall_time_in_a_named_zone_follows_daylight_saving():
    cron = parse_cron("0 8 * * *", "Europe/Paris")
    assert cron.next_after(at("2026-03-28 12:00")) == at("2026-03-29 06:00")  # CEST
    assert cron.next_after(at("2026-10-24 12:00")) == at("2026-10-25 07:00")  # CET


@pytest.mark.parametrize("expr, message", [
    ("60 * * * *", "minute: 60 is outside 0-59"),
    ("* 24 * * *", "hour: 24 is outside 0-23"),
    ("* * 0 * *", "day of month: 0 is outside 1-31"),
    ("* * * foo *", "month: 'foo' is not a number or a name"),
    ("* * * * 8", "day of week: 8 is outside 0-7"),
    ("*/0 * * * *", "step '0' must be a positive number"),
    ("5-1 * * * *", "runs backwards"),
    ("* * * *", "has 4 fields"),
    ("0 0 31 2 *", "does not fire within 8 years"),
    ("1,,2 * * * *", "empty part"),
])
def test_bad_expressions_name_the_field(expr, message):
    with pytest.raises(CronError, match=message.replace("*", r"\*")):
        parse_cron(expr)


def test_an_unknown_zone_is_refused():
    with pytest.raises(CronError, match="unknown time zone 'Mars/Base'"):
        parse_cron("@daily", "Mars/Base")


def _matches(cron: Cron, t: dt.datetime) -> bool:
    """The definition in crontab(5), written out minute by minute."""
    if t.minute not in cron.minutes or t.hour not in cron.hours or t.month not in cron.months:
        return False
    dom, dow = t.day in cron.days, (t.isoweekday() % 7) in cron.weekdays
    return dom and dow if cron.any_day or cron.any_weekday else dom or dow


def _part(lo: int, hi: int) -> st.SearchStrategy[str]:
    n = st.integers(lo, hi)
    return st.one_of(
        st.just("*"), n.map(str), st.builds(lambda s: f"*/{s}", st.integers(1, hi - lo + 1)),
        st.builds(lambda a, b: f"{min(a, b)}-{max(a, b)}", n, n),
        st.builds(lambda a, b, s: f"{min(a, b)}-{max(a, b)}/{s}", n, n, st.integers(1, 9)))


def _field(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.lists(_part(lo, hi), min_size=1, max_size=3).map(",".join)


expressions = st.builds(lambda *f: " ".join(f), _field(0, 59), _field(0, 23), _field(1, 31),
                        _field(1, 12), _field(0, 7))
moments = st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2035, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=200, deadline=None)
@given(expressions, moments)
def test_a_valid_schedule_fires_on_its_first_matching_minute(expr, after):
    try:
        cron = parse_cron(expr)
    except CronError as e:  # only the day-of-month/month combinations that never exist
        assert "does not fire" in str(e)
        return
    nxt = cron.next_after(after)
    assert nxt > after and nxt.second == 0 and _matches(cron, nxt)
    # no matching minute in between (checked up to two days back from the firing)
    t = max(after.replace(second=0, microsecond=0) + dt.timedelta(minutes=1),
            nxt - dt.timedelta(days=2))
    while t < nxt:
        assert not _matches(cron, t), (expr, after, t, nxt)
        t += dt.timedelta(minutes=1)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=40),
                 st.lists(st.sampled_from(["*", "*/5", "1-5", "mon", "jan", "7", "60", ",",
                                           "/", "-", "@daily", "@nope", "0", " "]),
                          max_size=8).map(" ".join)))
def test_any_text_parses_or_is_refused_cleanly(text):
    try:
        parse_cron(text)
    except CronError:
        pass


def test_the_config_checks_schedules_and_receivers():
    from watchkeeper.config import ConfigError, parse_config

    base = "alerting: {receivers: [{name: ops, webhook_configs: [{url: 'http://x/'}]}]}\n"
    ok = parse_config(base + "reports: [{name: weekly, schedule: '0 8 * * mon', "
                             "receivers: [ops]}]\n", "<config>")
    assert ok.config.reports[0].period == "7d"
    for bad, message in (
            ("reports: [{name: w, schedule: '0 25 * * *'}]", "hour: 25 is outside 0-23"),
            ("reports: [{name: w, schedule: '@daily', receivers: [nobody]}]",
             "no receiver named 'nobody'"),
            ("reports: [{name: w, schedule: '@daily', period: 5m}]", "shorter than 1h"),
            ("reports: [{name: 'a b', schedule: '@daily'}]", "report name"),
            ("reports: [{name: w, schedule: '@daily'}, {name: w, schedule: '@daily'}]",
             "report names must be unique")):
        with pytest.raises(ConfigError, match=message):
            parse_config(base + bad + "\n", "<config>")
