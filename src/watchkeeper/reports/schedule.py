"""Scheduled reports in ``watchkeeper serve``: each entry of the config's ``reports`` is
built when its cron expression fires, kept on disk, and sent to its receivers.

The loop sleeps until the next firing (at most 30 s at a time, so a reload's new schedules
are seen); a firing missed while the server was down is not made up. Building runs in a
worker thread, one report at a time.

A delivery that fails is tried again, to that one integration only, after 1 minute, then
2, 4, ... up to 30 minutes apart, for 12 hours; the next firing of the same report to the
same integration replaces a retry still pending (its page stays kept). Retries live in
memory, as Alertmanager's do: a restart forgets them, and the next firing sends anew.
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
RETRY_FIRST = 60.0
RETRY_MAX = 1800.0
RETRY_FOR = 12 * 3600.0


@dataclass
class Outcome:
    report: str
    file: str
    url: str
    seconds: float
    delivered: dict[str, str] = field(default_factory=dict)


@dataclass
class Retry:
    """One report still owed to one integration."""

    report: str
    integration: Any
    message: tuple[Any, str, str, str, str]  # (report, html, markdown, link, file)
    failed_at: float
    due: float
    attempts: int = 1
    error: str = ""


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
        self.given_up: dict[tuple[str, str], int] = {}
        self.retries: dict[tuple[str, str], Retry] = {}  # (report, integration) -> owed
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
            if any(r.due <= self.clock() for r in list(self.retries.values())):
                await self.retry_due()
            soonest = min([*(self.next[(s.name, s.schedule, s.timezone)] for _, s in plan),
                           *(r.due for r in list(self.retries.values()))],
                          default=now + MAX_SLEEP)
            await asyncio.sleep(min(MAX_SLEEP, max(0.05, soonest - self.clock())))

    async def fire(self, schedule: Any) -> Outcome:
        """Build, keep and send one scheduled report now."""
        async with self._lock:
            return await asyncio.to_thread(self._fire, schedule)

    async def retry_due(self) -> dict[tuple[str, str], str]:
        """Try every retry whose time has come; (report, integration) -> its outcome."""
        async with self._lock:
            return await asyncio.to_thread(self._retry_due)

    def _retry_due(self) -> dict[tuple[str, str], str]:
        from .deliver import deliver_one

        out = {}
        for key, r in list(self.retries.items()):
            now = self.clock()
            if r.due > now or self.retries.get(key) is not r:
                continue
            result = deliver_one(r.integration, r.message[0], r.report, *r.message[1:])
            out[key] = result
            self._count(r.report, r.integration.id, result)
            if result in ("sent", "skipped"):
                del self.retries[key]
            elif now + self._backoff(r.attempts + 1) - r.failed_at > RETRY_FOR:
                del self.retries[key]
                self.given_up[key] = self.given_up.get(key, 0) + 1
                log.error("report %s: gave up on %s after %d attempts over %.0f h: %s",
                          r.report, r.integration.id, r.attempts + 1,
                          (now - r.failed_at) / 3600, result)
            else:
                r.attempts += 1
                r.error = result
                r.due = now + self._backoff(r.attempts)
        return out

    @staticmethod
    def _backoff(attempts: int) -> float:
        """Seconds before attempt ``attempts + 1``: 1 min, doubling, at most 30 min."""
        return min(RETRY_MAX, RETRY_FIRST * 2 ** (attempts - 1))

    def _count(self, report: str, integration: str, result: str) -> None:
        book = self.sent if result in ("sent", "skipped") else self.failed
        book[(report, integration)] = book.get((report, integration), 0) + 1

    def _fire(self, schedule: Any) -> Outcome:
        from .build import build_report
        from .deliver import deliver_one, integrations_of
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
        integrations, delivered = integrations_of(
            [known[n] for n in schedule.receivers if n in known])
        for receiver in delivered:
            self._count(schedule.name, receiver, delivered[receiver])
        message = (report, html, render_markdown(report), url, file)
        for integration in integrations:
            key = (schedule.name, integration.id)
            result = deliver_one(integration, report, schedule.name, *message[1:])
            delivered[integration.id] = result
            self._count(*key, result)
            self.retries.pop(key, None)  # this firing replaces an older one still owed
            if result not in ("sent", "skipped"):
                now = self.clock()
                self.retries[key] = Retry(schedule.name, integration, message, now,
                                          now + self._backoff(1), error=result)
        out = Outcome(schedule.name, file, url, time.perf_counter() - clock, delivered)
        self.last[schedule.name] = out
        log.info("report %s built in %.2f s, kept as %s, delivered: %s", schedule.name,
                 out.seconds, file, delivered or "to no receiver")
        return out

    def collect(self) -> Any:
        """``watchkeeper_reports_sent_total``, ``..._failed_total`` (each failed attempt)
        and ``..._given_up_total`` per report and integration, and the retries pending."""
        from watchkeeper.metrics.family import CounterMetricFamily, GaugeMetricFamily

        for name, book, doc in (("watchkeeper_reports_sent", self.sent,
                                 "Scheduled reports delivered (or skipped by the receiver)."),
                                ("watchkeeper_reports_failed", self.failed,
                                 "Scheduled report delivery attempts that failed."),
                                ("watchkeeper_reports_given_up", self.given_up,
                                 "Scheduled reports never delivered after 12 h of retries.")):
            family = CounterMetricFamily(name, doc, labels=["report", "integration"])
            for (report, integration), n in sorted(book.items()):
                family.add_metric([report, integration], n)
            yield family
        pending = GaugeMetricFamily("watchkeeper_reports_retry_pending",
                                    "Scheduled reports waiting to be sent again.",
                                    labels=["report", "integration"])
        for (report, integration) in sorted(list(self.retries)):
            pending.add_metric([report, integration], 1)
        yield pending
