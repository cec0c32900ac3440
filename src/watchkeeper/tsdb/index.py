"""Inverted label index: label name -> value -> set of series ids.

Why: selecting series by matchers must not scan every series; equality matchers are
one dictionary lookup, regex matchers test each distinct value once, not each series.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import Matcher


class LabelIndex:
    """Postings lists over every known series (persisted and in the head)."""

    __slots__ = ("_all", "_postings", "_strings")

    def __init__(self) -> None:
        self._postings: dict[str, dict[str, set[int]]] = {}
        self._all: set[int] = set()
        self._strings: dict[str, str] = {}  # interning: one copy of each name and value

    def intern(self, labels: Labels) -> Labels:
        s = self._strings
        return tuple.__new__(Labels, ((s.setdefault(k, k), s.setdefault(v, v)) for k, v in labels))

    def add(self, series_id: int, labels: Labels) -> None:
        self._all.add(series_id)
        for name, value in labels:
            self._postings.setdefault(name, {}).setdefault(value, set()).add(series_id)

    def remove(self, series_id: int, labels: Labels) -> None:
        self._all.discard(series_id)
        for name, value in labels:
            values = self._postings.get(name)
            if values is None:
                continue
            ids = values.get(value)
            if ids is not None:
                ids.discard(series_id)
                if not ids:
                    del values[value]
            if not values:
                del self._postings[name]

    def __len__(self) -> int:
        return len(self._all)

    def _matching_one(self, m: Matcher) -> set[int]:
        values = self._postings.get(m.name, {})
        if m.op == "=" and m.value:
            return set(values.get(m.value, ()))
        hit: set[int] = set()
        for value, ids in values.items():
            if m.matches(value):
                hit |= ids
        if m.matches_empty:  # series lacking the label count as ""
            having: set[int] = set()
            for ids in values.values():
                having |= ids
            hit |= self._all - having
        return hit

    def select(self, matchers: Sequence[Matcher]) -> set[int]:
        """Ids of series satisfying every matcher; no matchers selects everything."""
        if not matchers:
            return set(self._all)
        # cheapest first: equality on a non-empty value, then the rest
        ordered = sorted(matchers, key=lambda m: (m.op != "=" or not m.value, m.matches_empty))
        result: set[int] | None = None
        for m in ordered:
            ids = self._matching_one(m)
            result = ids if result is None else result & ids
            if not result:
                return set()
        return result if result is not None else set()

    def label_names(self, ids: Iterable[int] | None = None) -> list[str]:
        if ids is None:
            return sorted(self._postings)
        wanted = set(ids)
        return sorted(
            n
            for n, vals in self._postings.items()
            if any(not wanted.isdisjoint(s) for s in vals.values())
        )

    def label_values(self, name: str, ids: Iterable[int] | None = None) -> list[str]:
        values = self._postings.get(name, {})
        if ids is None:
            return sorted(values)
        wanted = set(ids)
        return sorted(v for v, s in values.items() if not wanted.isdisjoint(s))
