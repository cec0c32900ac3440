"""A range query answered by the PromQL engine in this process, without the HTTP API's
JSON round trip (encoding, then decoding, every point of every series: most of the time
of a 1,000-series query). Rows look like the API's and are built only when read, so the
budget's cut means the series that do not fit are never converted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class EngineRows(Sequence):  # type: ignore[type-arg]
    """The API's ``result`` rows of a range query (label order, empty series left out)."""

    def __init__(self, value: Any, times: Any) -> None:
        import numpy as np

        keep = [i for i in sorted(range(len(value.labels)), key=lambda i: value.labels[i])
                if value.mask[i].any()]
        self._value = value
        self._order = keep
        self._seconds = np.asarray(times, dtype=np.float64) / 1000.0
        self.metrics = [value.labels[i].to_dict() for i in keep]

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        row = self._order[i]
        mask = self._value.mask[row]
        return {"metric": self.metrics[i],
                "values": list(zip(self._seconds[mask].tolist(),
                                   self._value.values[row][mask].tolist(), strict=True))}


class InstantRows(Sequence):  # type: ignore[type-arg]
    """The API's ``result`` rows of an instant query: the vector's order (or its sort()),
    series without a value left out."""

    def __init__(self, value: Any, time_ms: int) -> None:
        col = value.values[:, 0] if len(value.labels) else []
        keep = [i for i in range(len(value.labels)) if value.mask[i, 0]]
        if value.sort == "desc":  # NaN last either way, as Prometheus
            keep.sort(key=lambda i: (col[i] == col[i], col[i]), reverse=True)
        elif value.sort:
            keep.sort(key=lambda i: (col[i] != col[i], col[i]))
        self._values = [float(col[i]) for i in keep]
        self._time = time_ms / 1000.0
        self.metrics = [value.labels[i].to_dict() for i in keep]

    def __len__(self) -> int:
        return len(self.metrics)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return {"metric": self.metrics[i], "value": [self._time, self._values[i]]}


def instant_rows(engine: Any, expr: str, at_s: float) -> InstantRows | None:
    """The rows of an instant query, or None for any answer but a vector."""
    from watchkeeper.promql.values import Vector

    at_ms = round(at_s * 1000)
    result = engine.instant(expr, at_ms)
    if result.kind != "vector" or not isinstance(result.value, Vector):
        return None
    return InstantRows(result.value, int(result.times[0]))


def range_rows(engine: Any, expr: str, start_s: float, end_s: float, step_s: float,
               ) -> EngineRows | None:
    """The rows of a range query, or None when the answer is not a vector per step (a
    scalar: the API path answers it). PromQL errors propagate with the API's messages."""
    from watchkeeper.promql.values import Vector

    result = engine.range(expr, round(start_s * 1000), round(end_s * 1000),
                          max(1, round(step_s * 1000)))  # rounded as the API parses
    if not isinstance(result.value, Vector):
        return None
    return EngineRows(result.value, result.times)
