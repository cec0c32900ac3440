"""The figures of every circuit breaker, exported in the resilience4j shape, and its score.

Series (label ``name``): ``circuit_breaker_state{state}`` (exactly one of ``closed``,
``open``, ``half_open`` is 1), ``circuit_breaker_transitions_total{from, to}``,
``circuit_breaker_calls_total{outcome}`` (``success``, ``failure``, ``ignored``,
``rejected``, and ``fallback`` for each answer a fallback gave, counted beside the
``failure`` or ``rejected`` that caused it), ``circuit_breaker_call_duration_seconds``
(a summary: count and sum by outcome), ``circuit_breaker_failure_rate`` and
``circuit_breaker_slow_call_rate`` (0-1 over the breaker's window; -1 until the window
holds its minimum number of calls, as resilience4j reports it).

Score (component ``breaker``): 100 minus ``state`` (open 70, half_open 35) minus
``failure_rate`` (60 x the failure rate as a fraction of the threshold that opens it,
up to 60) minus ``slow_calls`` (20 x the slow-call rate, up to 20). A closed breaker
with no failures scores 100; an open one scores at most 30.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from .resources import track_score
from .scores import Score, score_from_penalties

STATES = ("closed", "open", "half_open")
OUTCOMES = ("success", "failure", "ignored", "rejected", "fallback")


class BreakerStats:
    """Plain attributes a breaker bumps on each call (atomic enough under the GIL)."""

    __slots__ = ("calls", "durations", "failure_rate", "failure_threshold", "name",
                 "slow_rate", "state", "transitions")

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = "closed"
        self.calls = dict.fromkeys(OUTCOMES, 0)
        #: outcome -> [count, seconds]
        self.durations: dict[str, list[float]] = {o: [0, 0.0] for o in OUTCOMES[:3]}
        self.transitions: dict[tuple[str, str], int] = {}
        # callables giving the current rates (the breaker owns the window)
        self.failure_rate: Any = lambda: -1.0
        self.slow_rate: Any = lambda: -1.0
        self.failure_threshold = 0.5

    def transition(self, old: str, new: str) -> None:
        if old == new:
            return
        key = (old, new)
        self.transitions[key] = self.transitions.get(key, 0) + 1
        self.state = new


class BreakerRegistry:
    """Every breaker name's stats; a collector on the default registry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[str, BreakerStats] = {}
        self._registered = False

    def stats(self, name: str) -> BreakerStats:
        found = self._stats.get(name)
        if found is None:
            with self._lock:
                found = self._stats.get(name)
                if found is None:
                    found = self._stats[name] = BreakerStats(name)
                    track_score("breaker", name, lambda s=found: breaker_score(s))
                if not self._registered:
                    from ..metrics.registry import REGISTRY

                    REGISTRY.register(self)
                    self._registered = True
        return found

    def all(self) -> list[BreakerStats]:
        return sorted(list(self._stats.values()), key=lambda s: s.name)

    def collect(self) -> Iterator[Any]:
        from ..metrics.family import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

        stats = self.all()
        state = GaugeMetricFamily("circuit_breaker_state",
                                  "1 for the breaker's current state, 0 for the others.",
                                  labels=["name", "state"])
        trans = CounterMetricFamily("circuit_breaker_transitions",
                                    "State transitions of the breaker.",
                                    labels=["name", "from", "to"])
        calls = CounterMetricFamily("circuit_breaker_calls", "Calls through the breaker by "
                                    "outcome.", labels=["name", "outcome"])
        dur = SummaryMetricFamily("circuit_breaker_call_duration_seconds",
                                  "Duration of calls the breaker let through.",
                                  labels=["name", "outcome"])
        fr = GaugeMetricFamily("circuit_breaker_failure_rate", "Failure rate over the "
                               "breaker's window (0-1; -1 below the minimum calls).",
                               labels=["name"])
        sr = GaugeMetricFamily("circuit_breaker_slow_call_rate", "Slow-call rate over the "
                               "breaker's window (0-1; -1 below the minimum calls).",
                               labels=["name"])
        for s in stats:
            current = s.state
            for st in STATES:
                state.add_metric([s.name, st], 1.0 if st == current else 0.0)
            for (a, b), n in sorted(s.transitions.items()):
                trans.add_metric([s.name, a, b], n)
            for o in OUTCOMES:  # success, failure and ignored are the durations' counts
                d = s.durations.get(o)
                calls.add_metric([s.name, o], d[0] if d is not None else s.calls[o])
            for o, (n, total) in s.durations.items():
                dur.add_metric([s.name, o], n, total)
            fr.add_metric([s.name], s.failure_rate())
            sr.add_metric([s.name], s.slow_rate())
        yield from (state, trans, calls, dur, fr, sr)


BREAKERS = BreakerRegistry()


def breaker_score(s: BreakerStats) -> Score:
    """The documented formula above, from one breaker's figures."""
    state = {"open": 70.0, "half_open": 35.0}.get(s.state, 0.0)
    rate = max(0.0, s.failure_rate())
    threshold = s.failure_threshold or 1.0
    failure = min(60.0, 60.0 * rate / threshold)
    slow = min(20.0, 20.0 * max(0.0, s.slow_rate()))
    return score_from_penalties("breaker", s.name,
                                {"state": state, "failure_rate": failure, "slow_calls": slow})

