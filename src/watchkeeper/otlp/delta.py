"""Delta temporality turned cumulative, as the OpenTelemetry Collector's
``deltatocumulative`` processor does, so delta sums and histograms store as Prometheus
counters and histograms.

Each stream (resource, scope, metric name, unit and kind, point attributes) keeps its running
total in memory. The first delta point of a stream starts it (its start time is the stream's
from then on); each later point is added, bucket by bucket for histograms (exponential ones
at the coarser of the two scales), and the running total is what gets stored, at the point's
time. As the processor does, a point is refused (counted in ``partial_success``) when it
starts before the stream started, or is not newer than the stream's last point. A histogram
whose bounds (or zero threshold) change starts the stream again, which PromQL reads as a
counter reset. Streams not seen for ``max_stale`` (5 minutes) are forgotten, and at most
``max_streams`` are kept: past that a new stream's points are refused. The totals live in
memory: after a restart a stream starts again from its next delta, a counter reset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

DELTA, CUMULATIVE = 1, 2
NO_RECORDED_VALUE = 1
MAX_STALE = 300.0  # seconds, the processor's default
MAX_STREAMS = 100_000
SWEEP_EVERY = 10.0
MAX_BUCKETS = 160  # per side of an accumulated exponential histogram, the SDK's default
MIN_SCALE = -10
_KINDS = ("sum", "histogram", "exponential_histogram")


def _attrs(attributes: Any) -> tuple:
    return tuple(sorted((kv.key, kv.value.SerializeToString(deterministic=True))
                        for kv in attributes))


def _copy(point: Any) -> Any:
    out = type(point)()
    out.CopyFrom(point)
    return out


def _number(point: Any) -> float:
    kind = point.WhichOneof("value")
    if kind == "as_int":
        return float(point.as_int)
    return point.as_double if kind == "as_double" else 0.0


def _add_sum(state: Any, point: Any) -> bool:
    if state.WhichOneof("value") == "as_int" and point.WhichOneof("value") == "as_int":
        state.as_int += point.as_int
    else:
        state.as_double = _number(state) + _number(point)
    return True


def _add_counts(state: Any, point: Any) -> None:
    """count, sum, min and max of two histogram points (``state`` takes them)."""
    state.count += point.count
    if state.HasField("sum") and point.HasField("sum"):
        state.sum += point.sum
    else:
        state.ClearField("sum")
    for name, pick in (("min", min), ("max", max)):
        if state.HasField(name) and point.HasField(name):
            setattr(state, name, pick(getattr(state, name), getattr(point, name)))
        else:
            state.ClearField(name)


def _add_histogram(state: Any, point: Any) -> bool:
    """Add ``point`` into ``state``; False when the bounds differ (the stream restarts)."""
    if list(state.explicit_bounds) != list(point.explicit_bounds) or \
            len(state.bucket_counts) != len(point.bucket_counts):
        return False
    counts = [a + b for a, b in zip(state.bucket_counts, point.bucket_counts, strict=True)]
    del state.bucket_counts[:]
    state.bucket_counts.extend(counts)
    _add_counts(state, point)
    return True


def _at_scale(buckets: Any, shift: int, into: dict[int, int]) -> None:
    for i, c in enumerate(buckets.bucket_counts):
        if c:
            key = (buckets.offset + i) >> shift
            into[key] = into.get(key, 0) + c


def _set_buckets(buckets: Any, counts: dict[int, int]) -> None:
    del buckets.bucket_counts[:]
    if not counts:
        buckets.offset = 0
        return
    low, high = min(counts), max(counts)
    buckets.offset = low
    buckets.bucket_counts.extend(counts.get(i, 0) for i in range(low, high + 1))


def _add_exponential(state: Any, point: Any) -> bool:
    """Add ``point`` into ``state`` at the coarser scale; False when the zero thresholds
    differ (the stream restarts)."""
    if state.zero_threshold != point.zero_threshold:
        return False
    scale = min(state.scale, point.scale)
    sides = {}
    for side in ("positive", "negative"):
        merged: dict[int, int] = {}
        _at_scale(getattr(state, side), state.scale - scale, merged)
        _at_scale(getattr(point, side), point.scale - scale, merged)
        sides[side] = merged
    # as an SDK keeps its buckets: coarser until each side spans at most MAX_BUCKETS (two
    # points far apart at a fine scale would otherwise need millions of buckets between)
    while scale > MIN_SCALE and any(b and max(b) - min(b) >= MAX_BUCKETS
                                    for b in sides.values()):
        scale -= 1
        for side, b in sides.items():
            coarser: dict[int, int] = {}
            for index, count in b.items():
                coarser[index >> 1] = coarser.get(index >> 1, 0) + count
            sides[side] = coarser
    for side, b in sides.items():
        _set_buckets(getattr(state, side), b)
    state.scale = scale
    state.zero_count += point.zero_count
    _add_counts(state, point)
    return True


_ADD: dict[str, Callable[[Any, Any], bool]] = {
    "sum": _add_sum, "histogram": _add_histogram, "exponential_histogram": _add_exponential}


class DeltaToCumulative:
    """The running totals of every delta stream one server receives (thread-safe)."""

    def __init__(self, max_stale: float = MAX_STALE, max_streams: int = MAX_STREAMS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_stale = max_stale
        self.max_streams = max_streams
        self.clock = clock
        self._streams: dict[tuple, list[Any]] = {}  # key -> [running point, last seen]
        self._lock = threading.Lock()
        self._swept = clock()

    def __len__(self) -> int:
        return len(self._streams)

    def convert(self, request: Any) -> list[tuple[int, str]]:
        """Make every delta sum and histogram of ``request`` cumulative, in place; the
        points refused, as (count, why)."""
        refused: list[tuple[int, str]] = []
        with self._lock:
            now = self.clock()
            if now - self._swept >= SWEEP_EVERY:
                self._sweep(now)
            for rm in request.resource_metrics:
                resource = _attrs(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    scope = (sm.scope.name, sm.scope.version, _attrs(sm.scope.attributes))
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        if kind not in _KINDS:
                            continue
                        data = getattr(metric, kind)
                        if data.aggregation_temporality != DELTA:
                            continue
                        ident = (resource, scope, metric.name, metric.unit, kind,
                                 getattr(data, "is_monotonic", None))
                        kept = [p for p in (self._accumulate((ident, _attrs(q.attributes)),
                                                             kind, q, now, refused,
                                                             metric.name)
                                            for q in data.data_points) if p is not None]
                        del data.data_points[:]
                        data.data_points.extend(kept)
                        data.aggregation_temporality = CUMULATIVE
        return refused

    def _accumulate(self, key: tuple, kind: str, point: Any, now: float,
                    refused: list[tuple[int, str]], name: str) -> Any:
        if point.flags & NO_RECORDED_VALUE:
            return _copy(point)  # no value to add: stored as a staleness marker
        entry = self._streams.get(key)
        if entry is None:
            if len(self._streams) >= self.max_streams:
                refused.append((1, f"{name}: over {self.max_streams} delta streams are "
                                   "tracked; new ones are refused"))
                return None
            state = _copy(point)
            del state.exemplars[:]
            self._streams[key] = [state, now]
            return _copy(state)
        state = entry[0]
        if point.start_time_unix_nano < state.start_time_unix_nano:
            refused.append((1, f"{name}: a delta point starting before its stream started"))
            return None
        if point.time_unix_nano <= state.time_unix_nano:
            refused.append((1, f"{name}: a delta point not newer than the last one "
                               "(out of order)"))
            return None
        entry[1] = now
        if not _ADD[kind](state, point):  # new bounds: the stream starts again
            state = _copy(point)
            del state.exemplars[:]
            entry[0] = state
        state.time_unix_nano = point.time_unix_nano
        return _copy(state)

    def _sweep(self, now: float) -> None:
        self._swept = now
        stale = [k for k, (_, seen) in self._streams.items() if now - seen > self.max_stale]
        for k in stale:
            del self._streams[k]
