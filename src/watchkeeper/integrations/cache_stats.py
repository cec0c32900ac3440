"""The figures of every watched cache, one schema for all kinds, and the cache score.

Series (labels ``cache``, ``tier``: ``l1`` in-process, ``l2`` remote, or the client's
kind): ``cache_requests_total{result="hit"|"miss"}``, ``cache_evictions_total``,
``cache_promotions_total`` (L2 hits copied into L1), ``cache_size``, ``cache_max_size``,
``cache_bytes``, ``cache_compression_ratio`` (raw over stored bytes),
``cache_operations_total{op}``, ``cache_operation_duration_seconds{op}`` (sampled: one
operation in ``SAMPLE_EVERY`` is timed), and ``cache_key_requests_total{prefix, result}``
for client wrappers (the key's part before the first ``:``, at most ``MAX_PREFIXES`` per
cache, the rest under ``__overflow__``).

Score (component ``cache``), over the requests since the previous score: ``hit_ratio``
loses up to 50 points in proportion to how far the hit ratio fell below the cache's own
baseline (an average of its past ratios, so a cache that always misses half is not
punished for it); ``evictions`` up to 25 (25 x evictions per request, capped); ``latency``
up to 25 (the sampled mean latency against its baseline: 25 x (ratio - 1) / 3, capped). No
requests since the last score: no penalty.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from .resources import Hist, track_score
from .scores import Score, score_from_penalties

SAMPLE_EVERY = 16
MAX_PREFIXES = 50
OVERFLOW = "__overflow__"
DURATION_BUCKETS = (.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1,
                    .25, .5, 1.0, float("inf"))


def key_prefix(key: Any) -> str:
    """The template of a key: the part before the first ``:`` (``user:42`` -> ``user``)."""
    if isinstance(key, bytes):
        key = key.decode("utf-8", "replace")
    text = str(key)
    head, sep, _ = text.partition(":")
    return head if sep else "_"


class CacheStats:
    """One cache's counters (plain attributes and dicts; atomic enough under the GIL)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests: dict[tuple[str, str], int] = {}
        self.evictions: dict[str, int] = {}
        self.promotions = 0
        self.ops: dict[tuple[str, str], int] = {}
        self.prefixes: dict[tuple[str, str], int] = {}
        self.durations: dict[tuple[str, str], Hist] = {}
        self.raw_bytes: dict[str, int] = {}
        self.stored_bytes: dict[str, int] = {}
        #: tier -> callables read at collect time (size, max size, bytes, requests)
        self.gauges: dict[str, dict[str, Callable[[], float]]] = {}
        self.pullers: list[Callable[[], None]] = []
        self._tick = 0
        self._last = (0, 0, 0, 0.0, 0)  # hits, requests, evictions, dur sum, dur count
        self._baseline_ratio: float | None = None
        self._baseline_latency: float | None = None

    def hit(self, tier: str, n: int = 1) -> None:
        key = (tier, "hit")
        self.requests[key] = self.requests.get(key, 0) + n

    def miss(self, tier: str, n: int = 1) -> None:
        key = (tier, "miss")
        self.requests[key] = self.requests.get(key, 0) + n

    def evicted(self, tier: str, n: int = 1) -> None:
        self.evictions[tier] = self.evictions.get(tier, 0) + n

    def op(self, tier: str, op: str) -> bool:
        """Count an operation; ``True`` when this one should be timed (1 in SAMPLE_EVERY)."""
        key = (tier, op)
        self.ops[key] = self.ops.get(key, 0) + 1
        self._tick += 1
        return self._tick % SAMPLE_EVERY == 0

    def timed(self, tier: str, op: str, seconds: float) -> None:
        h = self.durations.get((tier, op))
        if h is None:
            h = self.durations.setdefault((tier, op), Hist(DURATION_BUCKETS))
        h.observe(seconds)

    def prefix(self, key: Any, hit: bool) -> None:
        p = key_prefix(key)
        res = "hit" if hit else "miss"
        k = (p, res)
        if k not in self.prefixes and len(self.prefixes) >= 2 * MAX_PREFIXES:
            k = (OVERFLOW, res)
        self.prefixes[k] = self.prefixes.get(k, 0) + 1

    def stored(self, tier: str, raw: int, stored: int) -> None:
        self.raw_bytes[tier] = self.raw_bytes.get(tier, 0) + raw
        self.stored_bytes[tier] = self.stored_bytes.get(tier, 0) + stored

    def gauge(self, tier: str, what: str, fn: Callable[[], float]) -> None:
        self.gauges.setdefault(tier, {})[what] = fn

    def refresh(self) -> None:
        for pull in self.pullers:
            pull()

    # -- derived figures ---------------------------------------------------------------
    def totals(self) -> tuple[int, int, int, float, int]:
        hits = sum(n for (_, r), n in self.requests.items() if r == "hit")
        # a request is counted once: at its first tier (an L1 miss that L2 answers is
        # one request and one hit)
        first = self.first_tier()
        reqs = sum(n for (t, _), n in self.requests.items() if t == first)
        ev = sum(self.evictions.values())
        dsum = sum(h.sum for h in self.durations.values())
        dcount = sum(h.count for h in self.durations.values())
        return hits, reqs, ev, dsum, dcount

    def first_tier(self) -> str:
        tiers = sorted({t for t, _ in self.requests})
        return tiers[0] if tiers else ""

    def hit_ratio(self) -> float:
        hits, reqs, *_ = self.totals()
        return hits / reqs if reqs else 0.0


def cache_score(s: CacheStats) -> Score:
    """The documented formula above (each call consumes the window since the last)."""
    s.refresh()
    hits, reqs, ev, dsum, dcount = s.totals()
    h0, r0, e0, ds0, dc0 = s._last
    s._last = (hits, reqs, ev, dsum, dcount)
    penalties = {"hit_ratio": 0.0, "evictions": 0.0, "latency": 0.0}
    n = reqs - r0
    if n <= 0:
        return score_from_penalties("cache", s.name, penalties)
    ratio = (hits - h0) / n
    base = s._baseline_ratio
    if base is not None and base > 0:
        penalties["hit_ratio"] = min(50.0, 50.0 * max(0.0, base - ratio) / base)
    s._baseline_ratio = ratio if base is None else 0.9 * base + 0.1 * ratio
    penalties["evictions"] = min(25.0, 25.0 * (ev - e0) / n)
    if dcount > dc0:
        mean = (dsum - ds0) / (dcount - dc0)
        lb = s._baseline_latency
        if lb:
            penalties["latency"] = min(25.0, 25.0 * max(0.0, mean / lb - 1.0) / 3.0)
        s._baseline_latency = mean if lb is None else 0.9 * lb + 0.1 * mean
    return score_from_penalties("cache", s.name, penalties)


class CacheRegistry:
    """Every cache's stats; a collector on the default registry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[str, CacheStats] = {}
        self._registered = False

    def stats(self, name: str) -> CacheStats:
        found = self._stats.get(name)
        if found is None:
            with self._lock:
                found = self._stats.get(name)
                if found is None:
                    found = self._stats[name] = CacheStats(name)
                    track_score("cache", name, lambda s=found: cache_score(s),
                                key=lambda s=found: (s.refresh(), s.totals()))
                if not self._registered:
                    from ..metrics.registry import REGISTRY

                    REGISTRY.register(self)
                    self._registered = True
        return found

    def all(self) -> list[CacheStats]:
        return sorted(list(self._stats.values()), key=lambda s: s.name)

    def collect(self) -> Iterator[Any]:
        from ..metrics.family import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        stats = self.all()
        for s in stats:
            s.refresh()
        ct, t = ["cache", "tier"], ["cache", "tier", "op"]
        req = CounterMetricFamily("cache_requests", "Cache lookups by tier and result.",
                                  labels=["cache", "tier", "result"])
        ev = CounterMetricFamily("cache_evictions", "Entries evicted to make room.", labels=ct)
        promo = CounterMetricFamily("cache_promotions", "L2 hits copied into L1.",
                                    labels=["cache"])
        ops = CounterMetricFamily("cache_operations", "Cache operations by kind.", labels=t)
        keys = CounterMetricFamily("cache_key_requests", "Lookups by key prefix and result.",
                                   labels=["cache", "prefix", "result"])
        gauges = {w: GaugeMetricFamily(f"cache_{w}", doc, labels=ct) for w, doc in (
            ("size", "Entries in the cache now."), ("max_size", "Most entries it may hold."),
            ("bytes", "Bytes the cached values take."))}
        ratio = GaugeMetricFamily("cache_compression_ratio", "Raw over stored bytes of "
                                  "values written compressed.", labels=ct)
        dur = HistogramMetricFamily("cache_operation_duration_seconds", "Duration of sampled "
                                    "cache operations.", labels=t)
        for s in stats:
            for (tier, res), n in sorted(s.requests.items()):
                req.add_metric([s.name, tier, res], n)
            for tier, n in sorted(s.evictions.items()):
                ev.add_metric([s.name, tier], n)
            if s.promotions:
                promo.add_metric([s.name], s.promotions)
            for (tier, op), n in sorted(s.ops.items()):
                ops.add_metric([s.name, tier, op], n)
            for (p, res), n in sorted(s.prefixes.items()):
                keys.add_metric([s.name, p, res], n)
            for tier, fns in sorted(s.gauges.items()):
                for what, fn in fns.items():
                    if what in gauges:
                        gauges[what].add_metric([s.name, tier], float(fn()))
            for tier, stored in sorted(s.stored_bytes.items()):
                if stored:
                    ratio.add_metric([s.name, tier], s.raw_bytes.get(tier, 0) / stored)
            for (tier, op), h in sorted(s.durations.items()):
                dur.add_metric([s.name, tier, op], h.buckets(), h.sum)
        yield from (req, ev, promo, ops, keys, *gauges.values(), ratio, dur)


CACHES = CacheRegistry()

