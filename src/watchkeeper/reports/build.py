"""Build a report: every section from the same source and period, timed."""

from __future__ import annotations

import dataclasses
import time

from .availability import alerts_section, health_section
from .findings import capacity_section, changes_section
from .model import Report
from .operations import errors_section, store_section
from .period import Period, parse_period
from .readonce import report_engine
from .signals import SIGNALS, _expr, signals_section
from .source import Source


def build_report(source: Source, period: str = "7d", end: float | None = None,
                 title: str = "") -> Report:
    """The report of the ``period`` ending at ``end`` (now by default)."""
    clock = time.perf_counter()
    seconds, text = parse_period(period)
    end = float(int(time.time()) // 60 * 60) if end is None else end  # whole minutes
    p = Period(end - seconds, end, text)
    report = Report(title or f"watchkeeper report, last {text}", p.start, p.end, text,
                    time.time())
    scored = [(f"Golden signals: {name}", _expr(t, "", p.window, ""), unit)
              for name, unit, t in SIGNALS]
    source = dataclasses.replace(source, engine=report_engine(source.engine), _ranges={})
    for make in (health_section, alerts_section, signals_section,
                 lambda s, q: changes_section(s, q, scored), capacity_section, store_section,
                 errors_section):
        started = time.perf_counter()
        section = make(source, p)
        section.seconds = time.perf_counter() - started
        report.sections.append(section)
    report.seconds = time.perf_counter() - clock
    return report
