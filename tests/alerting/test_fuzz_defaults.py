"""Any value in default_rules, rule_packs or time_intervals is accepted or refused with a
clear error naming the key: never another exception, never a traceback from the config."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.alerting.service import check_alerting_config
from watchkeeper.alerting.time_intervals import (
    TimeInterval,
    TimeIntervalError,
    parse_time_intervals,
)
from watchkeeper.config import ConfigError, parse_config

WORDS = ["TargetDown", "HealthCheckFailing", "defaults", "Nope", "monday:friday", "-3:-1",
         "1:31", "24:00", "09:00", "january", "2026", "Europe/Berlin", "", "for", "expr",
         "labels", "up == 0", "1m", "x[", "{{ $value }}", "enabled", "disable", "override"]
scalars = st.one_of(st.sampled_from(WORDS), st.text(max_size=12), st.integers(-40, 3000),
                    st.booleans(), st.none(), st.floats(allow_nan=False, width=32))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from([*WORDS, "times", "weekdays", "days_of_month", "months",
                                     "years", "location", "start_time", "end_time", "name",
                                     "time_intervals", "annotations"]),
                    inner, max_size=4)), max_leaves=12)
override = st.dictionaries(st.sampled_from(["TargetDown", "Nope", "HostOomKill"]),
                           st.one_of(values, st.dictionaries(st.sampled_from(
                               ["for", "keep_firing_for", "expr", "labels", "annotations",
                                "color"]), values, max_size=3)), max_size=2)
default_rules = st.one_of(values, st.fixed_dictionaries({}, optional={
    "enabled": values, "disable": st.one_of(values, st.lists(scalars, max_size=3)),
    "override": st.one_of(values, override)}))
interval = st.one_of(values, st.fixed_dictionaries({}, optional={
    "times": st.one_of(values, st.lists(st.fixed_dictionaries(
        {"start_time": scalars, "end_time": scalars}), max_size=2)),
    "weekdays": st.one_of(values, st.lists(scalars, max_size=2)),
    "days_of_month": st.one_of(values, st.lists(scalars, max_size=2)),
    "months": st.one_of(values, st.lists(scalars, max_size=2)),
    "years": st.one_of(values, st.lists(scalars, max_size=2)),
    "location": scalars}))


@settings(max_examples=150, deadline=None)
@given(default_rules=default_rules, rule_packs=values)
def test_default_rules_and_packs_never_crash_the_check(default_rules, rule_packs) -> None:
    problems = check_alerting_config({"default_rules": default_rules,
                                      "rule_packs": rule_packs})
    assert all(isinstance(p, str) and p for p in problems)


@settings(max_examples=150, deadline=None)
@given(spec=interval, when=st.datetimes(min_value=datetime(1971, 1, 1),
                                      max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_time_intervals_are_parsed_or_refused_cleanly(spec, when) -> None:
    try:
        interval = TimeInterval.from_config(spec)
    except TimeIntervalError:
        return
    assert interval.contains(when) in (True, False)
    try:
        parse_time_intervals({"time_intervals": [{"name": "x", "time_intervals": [spec]}]})
    except TimeIntervalError:
        raise AssertionError("an interval accepted alone is refused in a list") from None


@settings(max_examples=100, deadline=None)
@given(default_rules=default_rules, intervals=st.one_of(values, st.lists(
    st.fixed_dictionaries({"name": scalars, "time_intervals": st.lists(interval, max_size=2)}),
    max_size=2)))
def test_the_config_file_refuses_with_a_located_error(default_rules, intervals) -> None:
    text = yaml.safe_dump({"default_rules": default_rules,
                           "alerting": {"time_intervals": intervals,
                                        "receivers": [{"name": "r"}],
                                        "route": {"receiver": "r"}}})
    try:
        parse_config(text, "fuzz.yml")
    except ConfigError as e:
        assert str(e)
