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
        self._postings: dict[str, dict[str, set[int] | int]] = {}
        self._all: set[int] = set()
        self._strings: dict[str, str] = {}  # interning: one copy of each name and value

    def intern(self, labels: Labels) -> Labels:
        s = self._strings
        return tuple.__new__(Labels, ((s.setdefault(k, k), s.setdefault(v, v)) for k, v in labels))

    def add(self, series_id: int, labels: Labels) -> None:
        self._all.add(series_id)
        for name, value in labels:
            values = self._postings.get(name)
            if values is None:
                values = self._postings[name] = {}
            ids = values.get(value)
            if ids is None:
                values[value] = series_id  # a value of one series (ids, uuids): no set
            elif type(ids) is int:
                values[value] = {ids, series_id}
            else:
                ids.add(series_id)

    def remove(self, series_id: int, labels: Labels) -> None:
        self._all.discard(series_id)
        for name, value in labels:
            values = self._postings.get(name)
            if values is None:
                continue
            ids = values.get(value)
            if ids == series_id or (type(ids) is set and ids == {series_id}):
                del values[value]
            elif type(ids) is set:
                ids.discard(series_id)
            if not values:
                del self._postings[name]

    def __len__(self) -> int:
        return len(self._all)

    def _matching_one(self, m: Matcher) -> set[int]:
        values = self._postings.get(m.name, {})
        if m.op == "=" and m.value:
            return _as_set(values.get(m.value))
        hit: set[int] = set()
        for value, ids in values.items():
            if m.matches(value):
                _merge(hit, ids)
        if m.matches_empty:  # series lacking the label count as ""
            having: set[int] = set()
            for ids in values.values():
                _merge(having, ids)
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
            n for n, vals in self._postings.items() if any(_meets(wanted, s) for s in vals.values())
        )

    def label_values(self, name: str, ids: Iterable[int] | None = None) -> list[str]:
        values = self._postings.get(name, {})
        if ids is None:
            return sorted(values)
        wanted = set(ids)
        return sorted(v for v, s in values.items() if _meets(wanted, s))


def _as_set(ids: set[int] | int | None) -> set[int]:
    if ids is None:
        return set()
    return {ids} if type(ids) is int else set(ids)  # type: ignore[arg-type]


def _merge(into: set[int], ids: set[int] | int) -> None:
    if type(ids) is int:
        into.add(ids)  # type: ignore[arg-type]
    else:
        into |= ids  # type: ignore[operator]


def _meets(wanted: set[int], ids: set[int] | int) -> bool:
    return ids in wanted if type(ids) is int else not wanted.isdisjoint(ids)  # type: ignore[arg-type]
