"""Build a report: every section from the same source and period, timed."""

from __future__ import annotations

import time

from .availability import alerts_section, health_section
from .findings import capacity_section, changes_section
from .model import Report
from .operations import errors_section, store_section
from .period import Period, parse_period
from .signals import P95, RATE, _expr, signals_section
from .source import Source


def build_report(source: Source, period: str = "7d", end: float | None = None,
                 title: str = "") -> Report:
    """The report of the ``period`` ending at ``end`` (now by default)."""
    clock = time.perf_counter()
    seconds, text = parse_period(period)
    end = time.time() if end is None else end
    p = Period(end - seconds, end, text)
    report = Report(title or f"watchkeeper report, last {text}", p.start, p.end, text,
                    time.time())
    scored = [_expr(t, "", p.window, "") for t in (P95, RATE)]
    report.sections = [health_section(source, p), alerts_section(source, p),
                       signals_section(source, p), changes_section(source, p, scored),
                       capacity_section(source, p), store_section(source, p),
                       errors_section(source, p)]
    report.seconds = time.perf_counter() - clock
    return report
