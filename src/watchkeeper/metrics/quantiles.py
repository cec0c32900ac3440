"""Quantiles over a sliding time window, in bounded memory.

Observations are appended to a plain list on the hot path; they reach the window in batches
(when the list is long, and at every scrape). The window is a ring of ``age_buckets``
sketches, each covering ``max_age / age_buckets`` seconds; a quantile merges the live ones.

Each sketch is a KLL-style compactor: level ``i`` holds values of weight ``2**i``; when a
level overflows it is sorted and every other value is promoted to the next level. Levels
near the top keep ``k`` values and lower ones geometrically fewer, so a sketch holds about
``3k`` numbers whatever the rate, and ranks are off by about ``1.7 / k`` at worst. Below
``k`` observations per age bucket the answer is exact.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import deque
from collections.abc import Sequence
from time import monotonic

DEFAULT_QUANTILES = (0.5, 0.9, 0.99)
DEFAULT_MAX_AGE = 600.0
DEFAULT_AGE_BUCKETS = 5
DEFAULT_K = 200
_SHRINK = 2 / 3


class Sketch:
    __slots__ = ("_coin", "_k", "_levels")

    def __init__(self, k: int = DEFAULT_K) -> None:
        self._k = k
        self._levels: list[array] = [array("d")]
        self._coin = 0

    def extend(self, values: Sequence[float]) -> None:
        """Add a batch. Levels are kept sorted, so each step is a C-level sort of two sorted
        runs (timsort merges them in linear time) and a slice: tens of ns per value."""
        levels = self._levels
        carry = sorted(values)
        i = 0
        while carry:
            if i == len(levels):
                levels.append(array("d"))
            merged = levels[i].tolist() + carry
            merged.sort()
            # Top levels keep k values, lower ones geometrically fewer (at least 8).
            if len(merged) <= max(8, int(self._k * _SHRINK ** (len(levels) - 1 - i))):
                levels[i] = array("d", merged)
                return
            keep = array("d")
            if len(merged) % 2:  # an odd one out stays, so no weight is lost
                keep.append(merged.pop(len(merged) // 2 if self._coin else -1))
            self._coin ^= 1  # alternate which half survives: unbiased on average
            levels[i] = keep
            carry = merged[self._coin::2]
            i += 1

    def weighted(self) -> list[tuple[float, int]]:
        return [(v, 1 << i) for i, level in enumerate(self._levels) for v in level]


class QuantileWindow:
    """The quantiles of what was observed in the last ``max_age`` seconds (roughly: the
    window moves in steps of ``max_age / age_buckets``)."""

    __slots__ = ("_lock", "_period", "_ring", "_start")

    def __init__(self, max_age: float = DEFAULT_MAX_AGE,
                 age_buckets: int = DEFAULT_AGE_BUCKETS) -> None:
        self._period = max_age / age_buckets
        self._ring: deque[Sketch] = deque([Sketch()], maxlen=age_buckets)
        self._start = monotonic()
        self._lock = threading.Lock()

    def _rotate(self, now: float) -> None:
        steps = int((now - self._start) // self._period)
        if steps <= 0:
            return
        for _ in range(min(steps, self._ring.maxlen or 1)):
            self._ring.append(Sketch())
        self._start += steps * self._period

    def add(self, values: Sequence[float], now: float | None = None) -> None:
        with self._lock:
            self._rotate(monotonic() if now is None else now)
            self._ring[-1].extend(values)

    def quantiles(self, qs: Sequence[float], now: float | None = None) -> list[float]:
        with self._lock:
            self._rotate(monotonic() if now is None else now)
            pairs = [p for sketch in self._ring for p in sketch.weighted()]
        return weighted_quantiles(pairs, qs)


def weighted_quantiles(pairs: list[tuple[float, int]], qs: Sequence[float]) -> list[float]:
    """Nearest-rank quantiles: the smallest value whose cumulative weight reaches q * total."""
    if not pairs:
        return [math.nan] * len(qs)
    pairs.sort()
    total = sum(w for _, w in pairs)
    out = []
    for q in qs:
        target = max(q * total, 1e-12)
        acc = 0
        value = pairs[-1][0]
        for v, w in pairs:
            acc += w
            if acc >= target:
                value = v
                break
        out.append(value)
    return out
