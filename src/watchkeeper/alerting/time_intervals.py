"""Alertmanager's time intervals: when a route is muted (``mute_time_intervals``) or only
active (``active_time_intervals``).

Config has Alertmanager's shape: top-level ``time_intervals`` (and the older
``mute_time_intervals``), each ``{name, time_intervals: [...]}`` where an interval has
``times`` (``HH:MM`` start inclusive, end exclusive, ``24:00`` allowed), ``weekdays``,
``days_of_month`` (negative counts from the month's end), ``months``, ``years`` (each a
value or an inclusive ``a:b`` range) and a ``location`` (IANA time zone, UTC by default).
A field left out matches everything; a named interval matches when any of its intervals
does. As in Alertmanager, a route's intervals are its own (children do not inherit them),
and a notification that falls in a mute is dropped without being logged, so it goes out
at the first flush after the mute ends.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WEEKDAYS = {d: i for i, d in enumerate(
    ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"))}
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_TIME = re.compile(r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
_FIELDS = {"times", "weekdays", "days_of_month", "months", "years", "location"}

Range = tuple[int, int]


class TimeIntervalError(ValueError):
    """A time interval Alertmanager would refuse; says which and why."""


def _items(config: Mapping[str, Any], key: str) -> list[Any] | None:
    value = config.get(key)
    if value is not None and not isinstance(value, list):
        raise TimeIntervalError(f"{key}: expected a list")
    return value


def _member(text: str, names: Mapping[str, int] | None, numbers: bool) -> int:
    if names is not None and text in names:
        return names[text]
    if numbers:
        try:
            return int(text)
        except ValueError:
            pass
    raise TimeIntervalError(f"{text} is not valid here")


def _range(text: Any, names: Mapping[str, int] | None = None, numbers: bool = True) -> Range:
    parts = str(text).lower().split(":")
    if len(parts) > 2:
        raise TimeIntervalError(f"couldn't parse range {text}, invalid format")
    begin = _member(parts[0], names, numbers)
    end = _member(parts[-1], names, numbers)
    return begin, end


def _minutes(text: Any) -> int:
    if not _TIME.match(str(text)):
        raise TimeIntervalError(f"couldn't parse timestamp {text}, invalid format")
    hours, minutes = str(text).split(":")
    return int(hours) * 60 + int(minutes)


def _location(name: Any) -> tzinfo | None:
    if name in (None, "", "UTC"):
        return UTC
    if name == "Local":
        return None  # the system's zone, as Go's time.Local
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeIntervalError(f"unknown time zone {name}") from None


@dataclass
class TimeInterval:
    times: list[Range] | None = None
    weekdays: list[Range] | None = None
    days_of_month: list[Range] | None = None
    months: list[Range] | None = None
    years: list[Range] | None = None
    location: tzinfo | None = UTC

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TimeInterval:
        if not isinstance(config, Mapping):
            raise TimeIntervalError("a time interval is a mapping (times, weekdays, ...)")
        unknown = set(config) - _FIELDS
        if unknown:
            raise TimeIntervalError(f"unknown field(s) {sorted(unknown)}")
        out = cls(location=_location(config.get("location")))
        if _items(config, "times") is not None:
            out.times = []
            for t in config["times"]:
                if not isinstance(t, Mapping) or not t.get("start_time") or not t.get("end_time"):
                    raise TimeIntervalError("both start and end times must be provided")
                start, end = _minutes(t["start_time"]), _minutes(t["end_time"])
                if start >= end:
                    raise TimeIntervalError("start time cannot be equal or greater than end time")
                out.times.append((start, end))
        if _items(config, "weekdays") is not None:
            out.weekdays = [_range(w, _WEEKDAYS, numbers=False) for w in config["weekdays"]]
            for b, e in out.weekdays:
                if b > e:
                    raise TimeIntervalError("start day cannot be before end day")
        if _items(config, "days_of_month") is not None:
            out.days_of_month = [_days(d) for d in config["days_of_month"]]
        if _items(config, "months") is not None:
            out.months = [_range(m, _MONTHS) for m in config["months"]]
            for b, e in out.months:
                if not (1 <= b <= 12 and 1 <= e <= 12) or b > e:
                    raise TimeIntervalError(f"bad month range {b}:{e}")
        if _items(config, "years") is not None:
            out.years = [_range(y) for y in config["years"]]
            for b, e in out.years:
                if b > e:
                    raise TimeIntervalError(f"end year {e} is before start year {b}")
        return out

    def contains(self, when: datetime) -> bool:
        """Whether ``when`` (aware) falls in the interval, in the interval's time zone."""
        t = when.astimezone(self.location)
        if self.times is not None:
            minute = t.hour * 60 + t.minute
            if not any(b <= minute < e for b, e in self.times):
                return False
        if self.days_of_month is not None:
            days = calendar.monthrange(t.year, t.month)[1]
            if not any(_day_in(t.day, days, b, e) for b, e in self.days_of_month):
                return False
        if self.months is not None and not any(b <= t.month <= e for b, e in self.months):
            return False
        weekday = (t.weekday() + 1) % 7  # Sunday is 0, as in Go
        if self.weekdays is not None and not any(b <= weekday <= e for b, e in self.weekdays):
            return False
        return self.years is None or any(b <= t.year <= e for b, e in self.years)


def _days(text: Any) -> Range:
    b, e = _range(text)
    for n in (b, e):
        if n == 0 or not -31 <= n <= 31:
            raise TimeIntervalError(f"{n} is not a valid day of the month: out of range")
    if b < 0 < e:
        raise TimeIntervalError("end day must be negative if start day is negative")
    if (28 + b if b < 0 else b) > (28 + e if e < 0 else e):
        raise TimeIntervalError(f"end day {e} is always before start day {b}")
    return b, e


def _day_in(day: int, days: int, begin: int, end: int) -> bool:
    """Alertmanager's day-of-month test: negatives count back from the month's end, a
    start past the month's end matches nothing, the rest is clamped to the month."""
    begin = days + begin + 1 if begin < 0 else begin
    end = days + end + 1 if end < 0 else end
    if begin > days:
        return False
    begin, end = max(-days, min(begin, days)), max(-days, min(end, days))
    return begin <= day <= end


def parse_time_intervals(config: Mapping[str, Any]) -> dict[str, list[TimeInterval]]:
    """Every named interval of ``time_intervals`` and ``mute_time_intervals``."""
    out: dict[str, list[TimeInterval]] = {}
    for key in ("mute_time_intervals", "time_intervals"):
        for item in _items(config, key) or []:
            if not isinstance(item, Mapping) or not item.get("name"):
                raise TimeIntervalError(f"{key}: every entry needs a name")
            name = str(item["name"])
            if name in out:
                raise TimeIntervalError(f"{key}: time interval {name!r} is defined twice")
            try:
                out[name] = [TimeInterval.from_config(i)
                             for i in _items(item, "time_intervals") or []]
            except TimeIntervalError as e:
                raise TimeIntervalError(f"{key}: {name}: {e}") from None
    return out


def in_any(names: list[str], intervals: Mapping[str, list[TimeInterval]],
           when: datetime) -> bool:
    return any(i.contains(when) for n in names for i in intervals.get(n, []))


def route_muted(route: Any, intervals: Mapping[str, list[TimeInterval]], now_ms: int) -> bool:
    """Whether a route's notifications are held back now: inside one of its mute intervals,
    or outside all of its active intervals."""
    if not route.mute_time_intervals and not route.active_time_intervals:
        return False
    when = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    if in_any(route.mute_time_intervals, intervals, when):
        return True
    return bool(route.active_time_intervals) and not in_any(route.active_time_intervals,
                                                             intervals, when)


def check_route_intervals(route: Any, intervals: Mapping[str, list[TimeInterval]]) -> None:
    """Alertmanager's config checks: defined names only, none on the root route."""
    if route.mute_time_intervals:
        raise TimeIntervalError("root route must not have any mute time intervals")
    if route.active_time_intervals:
        raise TimeIntervalError("root route must not have any active time intervals")
    pending = list(route.routes)
    while pending:
        current = pending.pop()
        for name in current.mute_time_intervals + current.active_time_intervals:
            if name not in intervals:
                raise TimeIntervalError(f"undefined time interval {name!r} used in route "
                                        f"{current.path}")
        pending += current.routes
