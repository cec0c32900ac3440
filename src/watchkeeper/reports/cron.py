"""Cron expressions (the five fields of crontab(5)) and the next time one fires.

Fields: minute, hour, day of month, month, day of week; each ``*``, a number, a range
``a-b``, a step ``*/n`` or ``a-b/n``, or a comma list of those; months and days by their
three-letter English names too (``jan``, ``mon``); Sunday is 0 or 7. Macros: ``@hourly``,
``@daily`` (``@midnight``), ``@weekly``, ``@monthly``, ``@yearly`` (``@annually``). As in
Vixie cron, when both day fields are restricted a day matches either one. Times are wall
times in the schedule's time zone (UTC unless named).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
          "@hourly": "0 * * * *"}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names starting at lowest)
FIELDS = (("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of month", 1, 31, ()),
          ("month", 1, 12, MONTHS), ("day of week", 0, 7, DAYS))
SEARCH_YEARS = 8  # a schedule that never fires (31 February) is refused, not searched


class CronError(ValueError):
    """The expression is not valid; the message names the field and the part."""


def _number(text: str, field: int) -> int:
    name, lo, hi, names = FIELDS[field]
    low = text.lower()
    if names and low in names:
        return lo + names.index(low)
    if not text.isdigit():
        raise CronError(f"{name}: {text!r} is not a number"
                        + (f" or a name ({', '.join(names)})" if names else ""))
    value = int(text)
    if not lo <= value <= hi:
        raise CronError(f"{name}: {value} is outside {lo}-{hi}")
    return value


def _field(text: str, field: int) -> frozenset[int]:
    name, lo, hi, _ = FIELDS[field]
    out: set[int] = set()
    for part in text.split(","):
        rng, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if rng == "*":
            first, last = lo, hi
        elif "-" in rng:
            a, _, b = rng.partition("-")
            first, last = _number(a, field), _number(b, field)
            if first > last:
                raise CronError(f"{name}: range {rng!r} runs backwards")
        elif rng:
            first = _number(rng, field)
            last = hi if slash else first
        else:
            raise CronError(f"{name}: empty part in {text!r}")
        out.update(range(first, last + 1, step))
    if field == 4 and 7 in out:  # 7 is Sunday too
        out = (out - {7}) | {0}
    return frozenset(out)


@dataclass(frozen=True)
class Cron:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month is *
    any_weekday: bool  # day of week is *
    zone: str = "UTC"

    def _day_matches(self, d: dt.date) -> bool:
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def next_after(self, when: dt.datetime) -> dt.datetime:
        """The first firing strictly after ``when`` (an aware datetime), in UTC."""
        tz = ZoneInfo(self.zone)
        local = when.astimezone(tz)
        day = local.date()
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        for _ in range(366 * SEARCH_YEARS):
            if self._day_matches(day):
                for h in hours:
                    for m in minutes:
                        at = dt.datetime(day.year, day.month, day.day, h, m, tzinfo=tz)
                        if at.astimezone(dt.UTC) > when:
                            return at.astimezone(dt.UTC)
            day += dt.timedelta(days=1)
        raise CronError(f"{self.text!r} does not fire within {SEARCH_YEARS} years")


def parse_cron(text: str, zone: str = "UTC") -> Cron:
    """A validated schedule; ``CronError`` names the bad field otherwise."""
    if not isinstance(text, str):
        raise CronError("a schedule is a cron expression such as '0 8 * * mon'")
    expanded = MACROS.get(text.strip().lower(), text)
    parts = expanded.split()
    if len(parts) != 5:
        raise CronError(f"{text!r} has {len(parts)} fields; cron has five: minute hour "
                        "day-of-month month day-of-week (or @daily, @weekly ...)")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise CronError(f"unknown time zone {zone!r}") from e
    fields = [_field(p, i) for i, p in enumerate(parts)]
    cron = Cron(text.strip(), *fields, any_day=parts[2].startswith("*"),
                any_weekday=parts[4].startswith("*"),
                zone=zone)
    cron.next_after(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))  # refuses "0 0 31 2 *"
    return cron
