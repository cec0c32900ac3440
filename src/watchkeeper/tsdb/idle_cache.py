"""A bounded cache that also forgets what nobody has read for a while.

Why: the store's read caches used to keep everything until their byte budget was full,
so a server that once answered a burst of queries held that memory for good, and its
resident size crept up for hours towards budgets it rarely needed. Entries live in two
generations: reads find an entry in either, an entry found in the old one moves to the
young one, and every ``idle_s / 2`` seconds the old generation is dropped and the young
one becomes old. An entry read at least every ``idle_s / 2`` seconds stays; one nobody
reads is gone within ``idle_s``. That costs one clock read per call, not a timestamp per
entry: the chunk cache answers reads of 50,000 entries at once. Over budget, the oldest
entries of the old generation go first, then those of the young one.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_IDLE_S = 300.0


class IdleCache(Generic[K, V]):
    """Entries bounded by ``budget`` bytes (``size`` tells an entry's cost) that also
    expire after ``idle_s`` seconds without a read. Not thread-safe: callers lock."""

    def __init__(self, budget: int, size: Callable[[V], int], idle_s: float = DEFAULT_IDLE_S,
                 clock: Callable[[], float] = time.monotonic):
        self.budget = budget
        self.size = size
        self.idle_s = idle_s
        self.clock = clock
        self.used = 0
        self.young: OrderedDict[K, V] = OrderedDict()
        self.old: OrderedDict[K, V] = OrderedDict()
        self.rotated_at = clock()

    def __len__(self) -> int:
        return len(self.young) + len(self.old)

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from self.old
        yield from self.young

    def expire(self) -> None:
        """Drop what has gone unread long enough (also done by every get and put)."""
        now = self.clock()
        half = self.idle_s / 2
        elapsed = now - self.rotated_at
        if elapsed < half:
            return
        self._drop(self.old)
        if elapsed >= self.idle_s:  # nothing read in a whole period either
            self._drop(self.young)
            self.old = OrderedDict()
        else:
            self.old = self.young
        self.young = OrderedDict()
        # rotations keep to their schedule, however late the call: from the time of the
        # call, an entry written just before a late one lived up to half as long again
        self.rotated_at += half * (elapsed // half)

    def _drop(self, generation: OrderedDict[K, V]) -> None:
        size = self.size
        self.used -= sum(size(v) for v in generation.values())
        generation.clear()

    def get(self, key: K, recent: bool = True) -> V | None:
        """The entry, or None; ``recent=False`` keeps its place in the eviction order
        (cheaper when reading many)."""
        self.expire()
        value = self.young.get(key)
        if value is not None:
            if recent:
                self.young.move_to_end(key)
            return value
        value = self.old.pop(key, None)
        if value is not None:
            self.young[key] = value
        return value

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The cached ones of ``keys``, without reordering the young generation."""
        self.expire()
        young, old = self.young, self.old
        hits: dict[K, V] = {}
        for key in keys:
            value = young.get(key)
            if value is None:
                value = old.pop(key, None) if old else None
                if value is None:
                    continue
                young[key] = value
            hits[key] = value
        return hits

    def pop(self, key: K) -> None:
        value = self.young.pop(key, None)
        if value is None:
            value = self.old.pop(key, None)
        if value is not None:
            self.used -= self.size(value)

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` (replacing any entry under ``key``), then evict to the budget."""
        self.put_many(((key, value),))

    def put_many(self, items: Iterable[tuple[K, V]]) -> None:
        self.expire()
        young, size = self.young, self.size
        for key, value in items:
            self.pop(key)
            young[key] = value
            self.used += size(value)
        self.trim()

    def trim(self) -> None:
        """Evict oldest first until within budget."""
        size = self.size
        while self.used > self.budget:
            generation = self.old or self.young
            _, value = generation.popitem(last=False)
            self.used -= size(value)
