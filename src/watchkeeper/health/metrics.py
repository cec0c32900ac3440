"""Health results as metrics, so history, alerts and dashboards treat them like any series.

``HealthCollector(runner)`` can be registered on any ``CollectorRegistry``; it reads the
runner's latest results at scrape time and never runs a check itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..metrics.family import CounterMetricFamily, GaugeMetricFamily, Metric
from .runner import Runner, default_runner


class HealthCollector:
    """``watchkeeper_health_status``, ``..._check_duration_seconds``,
    ``..._check_failures_total`` and ``..._check_timestamp_seconds``, labelled by check."""

    def __init__(self, runner: Runner | None = None, prefix: str = "watchkeeper_health") -> None:
        self.runner = runner if runner is not None else default_runner()
        self.prefix = prefix

    def _families(self) -> tuple[Metric, ...]:
        p = self.prefix
        return (
            GaugeMetricFamily(
                f"{p}_status",
                "Latest health check status: 1 healthy, 0.5 degraded, 0 unhealthy.",
                labels=["check"],
            ),
            GaugeMetricFamily(
                f"{p}_check_duration_seconds",
                "Duration of the latest run of the health check.",
                labels=["check"],
            ),
            CounterMetricFamily(
                f"{p}_check_failures",
                "Runs of the health check that ended unhealthy.",
                labels=["check"],
            ),
            GaugeMetricFamily(
                f"{p}_check_timestamp_seconds",
                "When the latest run of the health check started (stale if the scheduler "
                "stopped).",
                labels=["check"],
            ),
        )

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        status, duration, failures, timestamp = self._families()
        histories = self.runner.histories()
        for name, result in sorted(self.runner.latest().items()):
            status.add_metric([name], result.status.metric_value)
            duration.add_metric([name], result.duration)
            history = histories.get(name)
            failures.add_metric([name], float(history.failures if history else 0))
            timestamp.add_metric([name], result.timestamp)
        yield status
        yield duration
        yield failures
        yield timestamp
