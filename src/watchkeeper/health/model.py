"""Statuses and results: what a check says and what the runner records about it.

A check returns an ``Outcome`` (or something that coerces to one: a ``Status``, a bool, a
status name, ``None``); the runner wraps it into a ``CheckResult`` with the check's name,
its criticality, when it ran and how long it took.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class CheckError(Exception):
    """A failure a check explains in plain words; reported without the exception's type."""


class Status(enum.StrEnum):
    """Ordered from best to worst, so ``max(statuses, key=Status.rank)`` is the worst."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def metric_value(self) -> float:
        """1 healthy, 0.5 degraded, 0 unhealthy: the value of ``watchkeeper_health_status``."""
        return _METRIC_VALUE[self]

    @property
    def health_json(self) -> str:
        """The status word of the health+json format: pass, warn, fail."""
        return _HEALTH_JSON[self]

    @property
    def exit_code(self) -> int:
        return self.rank

    @classmethod
    def worst(cls, statuses: Iterable[Status]) -> Status:
        return max(statuses, key=_RANK.__getitem__, default=cls.HEALTHY)


_RANK = {Status.HEALTHY: 0, Status.DEGRADED: 1, Status.UNHEALTHY: 2}
_METRIC_VALUE = {Status.HEALTHY: 1.0, Status.DEGRADED: 0.5, Status.UNHEALTHY: 0.0}
_HEALTH_JSON = {Status.HEALTHY: "pass", Status.DEGRADED: "warn", Status.UNHEALTHY: "fail"}
_ALIASES = {
    "healthy": Status.HEALTHY, "pass": Status.HEALTHY, "ok": Status.HEALTHY, "up": Status.HEALTHY,
    "degraded": Status.DEGRADED, "warn": Status.DEGRADED, "warning": Status.DEGRADED,
    "unhealthy": Status.UNHEALTHY, "fail": Status.UNHEALTHY, "down": Status.UNHEALTHY,
    "error": Status.UNHEALTHY,
}


@dataclass(slots=True)
class Outcome:
    """What one run of a check found.

    ``observed_value``/``observed_unit``/``measurement`` feed the health+json document
    (``checks`` are keyed ``name:measurement``); ``component_type`` is ``system``,
    ``datastore`` or ``component`` as the format suggests.
    """

    status: Status
    details: str = ""
    observed_value: Any = None
    observed_unit: str | None = None
    measurement: str | None = None
    component_type: str | None = None

    @classmethod
    def coerce(cls, value: Any) -> Outcome:
        """Accept the shapes a few-line custom check naturally returns."""
        if isinstance(value, Outcome):
            return value
        if value is None or value is True:
            return cls(Status.HEALTHY)
        if value is False:
            return cls(Status.UNHEALTHY, "check returned False")
        if isinstance(value, Status):
            return cls(value)
        if isinstance(value, str):
            status = _ALIASES.get(value.strip().lower())
            if status is None:
                raise ValueError(
                    f"unknown status {value!r} (expected healthy, degraded, unhealthy)"
                )
            return cls(status)
        if isinstance(value, tuple) and len(value) == 2:
            status = cls.coerce(value[0]).status
            return cls(status, str(value[1]))
        raise TypeError(
            f"a check must return an Outcome, a Status, a bool, a status name or None, "
            f"not {type(value).__name__}"
        )


def healthy(details: str = "", **fields: Any) -> Outcome:
    return Outcome(Status.HEALTHY, details, **fields)


def degraded(details: str = "", **fields: Any) -> Outcome:
    return Outcome(Status.DEGRADED, details, **fields)


def unhealthy(details: str = "", **fields: Any) -> Outcome:
    return Outcome(Status.UNHEALTHY, details, **fields)


@dataclass(slots=True, frozen=True)
class CheckResult:
    """One recorded run: the outcome plus who ran, when (epoch seconds) and for how long."""

    name: str
    status: Status
    details: str = ""
    timestamp: float = 0.0
    duration: float = 0.0
    critical: bool = True
    observed_value: Any = None
    observed_unit: str | None = None
    measurement: str | None = None
    component_type: str | None = None

    @classmethod
    def from_outcome(
        cls, name: str, outcome: Outcome, *, timestamp: float, duration: float, critical: bool
    ) -> CheckResult:
        return cls(
            name=name,
            status=outcome.status,
            details=outcome.details,
            timestamp=timestamp,
            duration=duration,
            critical=critical,
            observed_value=outcome.observed_value,
            observed_unit=outcome.observed_unit,
            measurement=outcome.measurement,
            component_type=outcome.component_type,
        )


def overall_status(results: Iterable[CheckResult]) -> Status:
    """Unhealthy if a critical check is unhealthy; degraded if any other is not healthy."""
    overall = Status.HEALTHY
    for result in results:
        if result.status is Status.UNHEALTHY and result.critical:
            return Status.UNHEALTHY
        if result.status is not Status.HEALTHY:
            overall = Status.DEGRADED
    return overall
