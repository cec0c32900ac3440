"""Scheduled reports in ``watchkeeper serve``: each entry of the config's ``reports`` is
built when its cron expression fires, kept on disk, and sent to its receivers.

The loop sleeps until the next firing (at most 30 s at a time, so a reload's new schedules
are seen); a firing missed while the server was down is not made up. Building runs in a
worker thread, one report at a time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .archive import Archive
from .cron import parse_cron

log = logging.getLogger("watchkeeper.reports")
MAX_SLEEP = 30.0


@dataclass
class Outcome:
    report: str
    file: str
    url: str
    seconds: float
    delivered: dict[str, str] = field(default_factory=dict)


class ReportScheduler:
    """``schedules()`` gives the current ``ReportSchedule`` entries, ``receivers()`` the
    alerting receivers by name, ``source()`` a report source, ``base_url()`` the server's
    external URL (for links); ``clock`` is the time in unix seconds."""

    def __init__(self, schedules: Callable[[], list[Any]],
                 receivers: Callable[[], Mapping[str, Mapping[str, Any]]],
                 source: Callable[[], Any], archive: Archive, base_url: Callable[[], str],
                 clock: Callable[[], float] = time.time) -> None:
        self.schedules = schedules
        self.receivers = receivers
        self.source = source
        self.archive = archive
        self.base_url = base_url
        self.clock = clock
        self.next: dict[tuple[str, str, str], float] = {}
        self.sent: dict[tuple[str, str], int] = {}  # (report, integration) -> count
        self.failed: dict[tuple[str, str], int] = {}
        self.last: dict[str, Outcome] = {}
        self._lock = asyncio.Lock()

    def _plan(self, now: float) -> list[tuple[float, Any]]:
        """(next firing, schedule) of every current schedule; new ones start from now."""
        out, keep = [], set()
        when = dt.datetime.fromtimestamp(now, dt.UTC)
        for s in self.schedules():
            key = (s.name, s.schedule, s.timezone)
            keep.add(key)
            if key not in self.next:
                self.next[key] = parse_cron(s.schedule, s.timezone).next_after(when).timestamp()
            out.append((self.next[key], s))
        for key in set(self.next) - keep:
            del self.next[key]
        return out

    async def run(self) -> None:
        while True:
            now = self.clock()
            plan = self._plan(now)
            for at, s in plan:
                if at <= now:
                    key = (s.name, s.schedule, s.timezone)
                    self.next[key] = parse_cron(s.schedule, s.timezone).next_after(
                        dt.datetime.fromtimestamp(now, dt.UTC)).timestamp()
                    try:
                        await self.fire(s)
                    except Exception:
                        log.exception("scheduled report %s failed", s.name)
            soonest = min((self.next[(s.name, s.schedule, s.timezone)] for _, s in plan),
                          default=now + MAX_SLEEP)
            await asyncio.sleep(min(MAX_SLEEP, max(0.05, soonest - self.clock())))

    async def fire(self, schedule: Any) -> Outcome:
        """Build, keep and send one scheduled report now."""
        async with self._lock:
            return await asyncio.to_thread(self._fire, schedule)

    def _fire(self, schedule: Any) -> Outcome:
        from .build import build_report
        from .deliver import deliver
        from .html import render_html
        from .markdown import render_markdown

        clock = time.perf_counter()
        report = build_report(self.source(), schedule.period, self.clock(),
                              schedule.title or f"{schedule.name}: last {schedule.period}")
        html = render_html(report)
        file = self.archive.save(schedule.name, html, report.end)
        base = self.base_url().rstrip("/")
        url = f"{base}/reports/{file}" if base else ""
        known = self.receivers()
        targets = [known[n] for n in schedule.receivers if n in known]
        delivered = deliver(report, schedule.name, targets, html, render_markdown(report),
                            url, file)
        for integration, result in delivered.items():
            book = self.sent if result in ("sent", "skipped") else self.failed
            book[(schedule.name, integration)] = book.get((schedule.name, integration), 0) + 1
        out = Outcome(schedule.name, file, url, time.perf_counter() - clock, delivered)
        self.last[schedule.name] = out
        log.info("report %s built in %.2f s, kept as %s, delivered: %s", schedule.name,
                 out.seconds, file, delivered or "to no receiver")
        return out

    def collect(self) -> Any:
        """``watchkeeper_reports_sent_total`` and ``..._failed_total`` per report and
        integration."""
        from watchkeeper.metrics.family import CounterMetricFamily

        for name, book, doc in (("watchkeeper_reports_sent", self.sent,
                                 "Scheduled reports delivered (or skipped by the receiver)."),
                                ("watchkeeper_reports_failed", self.failed,
                                 "Scheduled report deliveries that failed.")):
            family = CounterMetricFamily(name, doc, labels=["report", "integration"])
            for (report, integration), n in sorted(book.items()):
                family.add_metric([report, integration], n)
            yield family
