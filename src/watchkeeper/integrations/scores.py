"""The 0-100 health score of each stateful component (pool, cache, breaker, queue, bulk
operation), published as ``watchkeeper_health_score{component, name}``.

A monitor registers a function that computes its score from its own figures when asked;
nothing is computed between scrapes. Each score names its worst contributor, so a low score
says why (``/health/performance`` shows it). The formulas live beside each monitor and are
documented there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

SCORE_METRIC = "watchkeeper_health_score"
PENALTY_METRIC = "watchkeeper_health_score_penalty"


@dataclass(frozen=True)
class Score:
    """One component's score and the penalties that made it (``contributors``: name to
    points lost); ``worst`` is the contributor that cost the most, ``""`` when none did."""

    component: str
    name: str
    value: float
    contributors: dict[str, float] = field(default_factory=dict)

    @property
    def worst(self) -> str:
        lost = {k: v for k, v in self.contributors.items() if v > 0}
        return max(lost, key=lost.__getitem__) if lost else ""


def score_from_penalties(component: str, name: str, penalties: dict[str, float]) -> Score:
    """100 minus the sum of the penalties, clamped to [0, 100]: the shape every formula
    here uses, so that each lost point is attributed to one named cause."""
    value = 100.0 - sum(max(0.0, p) for p in penalties.values())
    return Score(component, name, min(100.0, max(0.0, value)), dict(penalties))


ScoreFn = Callable[[], Score]


class ScoreBoard:
    """The registered score functions; a collector for ``watchkeeper_health_score``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fns: dict[tuple[str, str], ScoreFn] = {}

    def register(self, component: str, name: str, fn: ScoreFn) -> None:
        with self._lock:
            self._fns[(component, name)] = fn

    def unregister(self, component: str, name: str) -> None:
        with self._lock:
            self._fns.pop((component, name), None)

    def scores(self) -> list[Score]:
        """Every component's score now; a function that raises scores 0 with its error as
        the worst contributor, so a broken monitor is visible rather than silent."""
        with self._lock:
            items = sorted(self._fns.items())
        out: list[Score] = []
        for (component, name), fn in items:
            try:
                out.append(fn())
            except Exception as e:  # a monitor's bug must not break the scrape
                out.append(Score(component, name, 0.0, {f"error: {type(e).__name__}": 100.0}))
        return out

    def collect(self) -> Iterator[Any]:
        """The scores and, from the same computation, each contributor's lost points
        (``watchkeeper_health_score_penalty{component, name, contributor}``), so that a
        scraper knows the worst contributor too."""
        from ..metrics.family import GaugeMetricFamily

        fam = GaugeMetricFamily(
            SCORE_METRIC, "Health score of a component, 0 (failing) to 100 (healthy).",
            labels=["component", "name"])
        lost = GaugeMetricFamily(PENALTY_METRIC, "Points a contributor took off a "
                                 "component's health score.",
                                 labels=["component", "name", "contributor"])
        for s in self.scores():
            fam.add_metric([s.component, s.name], s.value)
            for contributor, points in sorted(s.contributors.items()):
                lost.add_metric([s.component, s.name, contributor], float(points))
        yield fam
        yield lost


#: The process-wide board; registered on the default registry by the first monitor.
SCOREBOARD = ScoreBoard()
_registered = False
_reg_lock = threading.Lock()


def register_score(component: str, name: str, fn: ScoreFn, registry: Any = None) -> None:
    """Publish ``fn``'s score; the board joins ``registry`` (default REGISTRY) once."""
    global _registered
    SCOREBOARD.register(component, name, fn)
    with _reg_lock:
        if registry is None and _registered:
            return
        from ..metrics.registry import REGISTRY

        target = registry if registry is not None else REGISTRY
        try:
            target.register(SCOREBOARD)
        except ValueError:
            pass  # already there
        if registry is None:
            _registered = True
