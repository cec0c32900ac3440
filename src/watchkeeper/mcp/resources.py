"""Resources a client can attach as context (the overview, the reviews, what fires, what
runs out) and prompts that start the usual conversations (investigate an alert, a capacity
review, a weekly review) with the facts already in them, so the model begins from numbers
computed here rather than from a blank page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .backend import Backend, BackendError
from .report import report
from .shapes import HARD_BUDGET
from .status import status
from .tools import alerts, capacity

#: uri -> (name, description, function of the backend)
RESOURCES: dict[str, tuple[str, str, Callable[[Backend], Any]]] = {
    "watchkeeper://status": ("status", "The one-call overview (≤ 2 KB).", status),
    "watchkeeper://alerts": ("alerts", "Firing alerts with rule, value and incident.",
                             lambda b: alerts(b, "firing")),
    "watchkeeper://capacity": ("capacity", "Time until each resource runs out.", capacity),
    "watchkeeper://report/day": ("daily report", "The last day: alerts, checks, jobs, "
                                 "capacity.", lambda b: report(b, "day")),
    "watchkeeper://report/week": ("weekly report", "The last week: alerts, checks, jobs, "
                                  "capacity.", lambda b: report(b, "week")),
}


def full_report(backend: Backend, period: str = "7d") -> str:
    """The reports room's whole report as Markdown (a running server's), cut at 32 KB."""
    try:
        text = backend.text("/api/v1/report", {"period": period, "format": "md"})
    except BackendError as e:
        return f"The full report is not available here ({e}): it needs --url."
    data = text.encode()
    if len(data) <= HARD_BUDGET:
        return text
    cut = data[:HARD_BUDGET - 200].decode(errors="ignore")
    return (cut + f"\n\n… truncated at 32 KB of {len(data)} bytes; the whole report: "
            f"watchkeeper report --period {period} --format md")


def _facts(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def investigate_alert(backend: Backend, alert: str) -> str:
    rows = [a for a in alerts(backend, "all", max_bytes=4096)["alerts"]
            if a["alert"] == alert]
    facts = _facts(rows) if rows else f"(no active alert named {alert!r} right now)"
    return (f"Investigate the alert {alert}. Its current record: {facts}\n"
            "Steps: 1) query its rule expression over the hour before it started "
            "(shape=summary) to see the value against the threshold; 2) what_changed at its "
            "start time to find what moved with it; 3) describe_metric for the metrics in "
            "the expression; 4) health and status for failing checks or down targets "
            "nearby. Answer: what is wrong, since when, the likely cause with the numbers "
            "the tools returned, and what to do. Do no arithmetic yourself: quote the tools.")


def capacity_review(backend: Backend) -> str:
    return ("Review capacity. What runs out, soonest first: "
            f"{_facts(capacity(backend))}\n"
            "For each one filling within 30 days: say when (with the interval), how fast it "
            "grows, and check with forecast whether the growth is steady. Then list what "
            "to clean up or grow first. Quote the tools' numbers; compute nothing yourself.")


def weekly_review(backend: Backend) -> str:
    return (f"Write the weekly review. The week's figures: {_facts(report(backend, 'week'))}\n"
            "Cover: alerts that fired most and how fast they were acknowledged (call alerts "
            "for the ones still open), checks below 100 % availability or flapping, jobs "
            "that were down, what runs out first. Suggest rules to tune or silence. Quote "
            "the figures; compute nothing yourself.")


PROMPTS: dict[str, tuple[str, Callable[..., str]]] = {
    "investigate_alert": ("Investigate one alert: its record, then the steps to its cause.",
                          investigate_alert),
    "capacity_review": ("Review what runs out first, with the capacity figures.",
                        capacity_review),
    "weekly_review": ("The week's alerts, checks, jobs and capacity, to review.",
                      weekly_review),
}


def register(server: Any, backend: Backend, redact: Callable[[str], str],
             prefix: str = "") -> None:
    """Adds the resources and prompts to an MCPServer; what they return is redacted."""
    def reader(fn: Callable[[Backend], Any]) -> Callable[[], str]:
        return lambda: redact(_facts(fn(backend)))

    def reader_md(period: str) -> Callable[[], str]:
        return lambda: redact(full_report(backend, period))

    for uri, (name, description, fn) in RESOURCES.items():
        server.resource(uri, name=prefix + name, description=description,
                        mime_type="application/json")(reader(fn))
    for period in ("1d", "7d"):
        server.resource(f"watchkeeper://reports/{period}.md", name=f"{prefix}report {period}",
                        description=f"The full {period} report (availability, alerts, "
                        "golden signals, changes, capacity, errors) as Markdown, ≤ 32 KB.",
                        mime_type="text/markdown")(reader_md(period))

    def bind(fn: Callable[..., str]) -> Callable[..., str]:
        if fn is investigate_alert:
            def with_alert(alert: str) -> str:
                return redact(investigate_alert(backend, alert))
            return with_alert
        return lambda: redact(fn(backend))

    for name, (description, fn) in PROMPTS.items():
        server.prompt(name=prefix + name, description=description)(bind(fn))
