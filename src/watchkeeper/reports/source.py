"""Where a report reads from: the store through PromQL, and, when they exist, the alert
history and the error store. Queries go through the analysis room's ``grid``, as the API's
analysis routes do."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from watchkeeper.analysis.views import grid

Labels = dict[str, str]


@dataclass
class Source:
    engine: Any  # a PromQL Engine over the store
    history: Any = None  # alerting.history.AlertHistory, when alerting ever ran
    errors: Any = None  # errorstore.ErrorStore, when errors were ever stored
    dashboards: Any = None  # configured dashboards (the built-in ones are always read)
    _ranges: dict = field(default_factory=dict, repr=False)

    def instant(self, expr: str, at: float) -> list[tuple[Labels, float]]:
        """The result of ``expr`` at ``at`` (unix seconds): labels and value, finite ones."""
        ms = int(at * 1000)
        labels, _, values = grid(self.engine, expr, ms, ms, 60_000)
        return [(lbl, float(v)) for lbl, v in zip(labels, values[:, 0], strict=True)
                if math.isfinite(v)]

    def by(self, expr: str, at: float, key: str) -> dict[str, float]:
        """``instant`` keyed by one label's value."""
        return {lbl.get(key, ""): v for lbl, v in self.instant(expr, at)}

    def range(self, expr: str, start: float, end: float, step: float,
              ) -> tuple[list[Labels], np.ndarray, np.ndarray]:
        """Labels per row, times (s) and values (NaN where a row has no point). One report
        draws some lines twice (a golden signal's chart is also ranked for changes): the
        answer is kept for the source's life, which is one report's."""
        key = (expr, int(start * 1000), int(end * 1000), int(step * 1000))
        found = self._ranges.get(key)
        if found is None:
            found = self._ranges[key] = grid(self.engine, expr, *key[1:])
        return found


def open_local(data: str | Path) -> tuple[Source, Any]:
    """A source over the embedded store at ``data`` and the alert history and error store
    ``watchkeeper serve`` keeps beside it; returns it and a function that closes them."""
    from watchkeeper.promql.engine import Engine
    from watchkeeper.tsdb.store import Store

    data = Path(data)
    store = Store.open(data, background=False)
    closers = [store.close]
    history = errors = None
    alerting_db = data.parent / f"{data.name}-alerting" / "alerting.db"
    if alerting_db.exists():
        from watchkeeper.alerting.history import AlertHistory

        history = AlertHistory(alerting_db)
        closers.append(history.close)
    errors_db = data.parent / f"{data.name}-errors" / "errors.db"
    if errors_db.exists():
        from watchkeeper.errorstore import ErrorStore

        errors = ErrorStore(errors_db)
        closers.append(errors.close)

    def close() -> None:
        for c in reversed(closers):
            c()

    return Source(Engine(store), history, errors), close
