"""Inverted label index: label name -> value -> ids of the series carrying it.

Why: selecting series by matchers must not scan every series; equality matchers are
one dictionary lookup, regex matchers test each distinct value once, not each series.
Postings are compact arrays of 4-byte ids (a set costs ~70 bytes per entry), and a
value carried by a single series (an id, a uuid) is just that id.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import Any

from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import Matcher

Postings = array | int


class LabelIndex:
    """Postings over every known series (persisted and in the head)."""

    __slots__ = ("_all", "_owns_all", "_postings", "_strings")

    def __init__(self, universe: dict[int, Any] | None = None) -> None:
        """``universe``: the owner's id -> series mapping, shared instead of copied."""
        self._postings: dict[str, dict[str, Postings]] = {}
        self._owns_all = universe is None
        self._all: dict[int, Any] = {} if universe is None else universe
        self._strings: dict[str, str] = {}  # interning: one copy of each name and value

    def intern(self, labels: Labels) -> Labels:
        s = self._strings
        return tuple.__new__(Labels, ((s.setdefault(k, k), s.setdefault(v, v)) for k, v in labels))

    def add(self, series_id: int, labels: Labels) -> None:
        if self._owns_all:
            self._all[series_id] = None
        for name, value in labels:
            values = self._postings.get(name)
            if values is None:
                values = self._postings[name] = {}
            ids = values.get(value)
            if ids is None:
                values[value] = series_id
            elif type(ids) is int:
                values[value] = array("i", (ids, series_id))
            else:
                ids.append(series_id)  # type: ignore[union-attr]

    def remove(self, series_id: int, labels: Labels) -> None:
        if self._owns_all:
            self._all.pop(series_id, None)
        for name, value in labels:
            values = self._postings.get(name)
            if values is None:
                continue
            ids = values.get(value)
            if ids == series_id:
                del values[value]
            elif type(ids) is array and series_id in ids:
                ids.remove(series_id)
                if len(ids) == 1:
                    values[value] = ids[0]
            if not values:
                del self._postings[name]

    def __len__(self) -> int:
        return len(self._all)

    def _union(self, m: Matcher, matching: bool) -> set[int]:
        """Ids whose value of m.name does (or does not) satisfy m, absent labels aside."""
        values = self._postings.get(m.name, {})
        if matching and m.op == "=":
            return _as_set(values.get(m.value))
        if not matching and m.op == "!=":
            return _as_set(values.get(m.value))
        hit: set[int] = set()
        for value, ids in values.items():
            if m.matches(value) is matching:
                _merge(hit, ids)
        return hit

    def select(self, matchers: Sequence[Matcher]) -> set[int]:
        """Ids of series satisfying every matcher; no matchers selects everything."""
        if not matchers:
            return set(self._all)
        # narrowing matchers first (equality, then regex); those that also match the
        # empty string (!=, !~, =~".*") last, as exclusions from what is left
        ordered = sorted(matchers, key=lambda m: (m.matches_empty, m.op != "=" or not m.value))
        result: set[int] | None = None
        for m in ordered:
            if m.matches_empty:  # series lacking the label match too: subtract the misses
                misses = self._union(m, matching=False)
                result = (self._all.keys() - misses) if result is None else result - misses
            else:
                hits = self._union(m, matching=True)
                result = hits if result is None else result & hits
            if not result:
                return set()
        return result if result is not None else set()

    def label_names(self, ids: Iterable[int] | None = None) -> list[str]:
        if ids is None:
            return sorted(self._postings)
        wanted = set(ids)
        return sorted(
            n for n, vals in self._postings.items() if any(_meets(wanted, s) for s in vals.values())
        )

    def label_values(self, name: str, ids: Iterable[int] | None = None) -> list[str]:
        values = self._postings.get(name, {})
        if ids is None:
            return sorted(values)
        wanted = set(ids)
        return sorted(v for v, s in values.items() if _meets(wanted, s))


def _as_set(ids: Postings | None) -> set[int]:
    if ids is None:
        return set()
    return {ids} if type(ids) is int else set(ids)  # type: ignore[arg-type]


def _merge(into: set[int], ids: Postings) -> None:
    if type(ids) is int:
        into.add(ids)  # type: ignore[arg-type]
    else:
        into.update(ids)  # type: ignore[arg-type]


def _meets(wanted: set[int], ids: Postings) -> bool:
    return ids in wanted if type(ids) is int else not wanted.isdisjoint(ids)  # type: ignore[arg-type]
