"""The store contract every back end reads and writes through.

Why an abstract base: the PromQL engine, the server, alerting and the dashboard depend
on this narrow surface only, so a shared PostgreSQL implementation can follow the
embedded one without touching them. Timestamps are int milliseconds, values float64.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import Matcher

LabelsLike = Labels | Mapping[str, str]
MIN_TIME = -(2**62)
MAX_TIME = 2**62


class SeriesData(NamedTuple):
    """One selected series: its labels and its samples in time order."""

    labels: Labels
    timestamps: np.ndarray  # int64 milliseconds
    values: np.ndarray  # float64, bit-exact as appended


class SeriesBlock(NamedTuple):
    """Many series' samples end to end: the first ``sizes[0]`` belong to ``labels[0]``,
    and so on (a size may be 0). Why: a read of 50,000 series pays per series for every
    object it builds; engines that work on whole arrays take the block as it is."""

    labels: list[Labels]
    timestamps: np.ndarray
    values: np.ndarray
    sizes: np.ndarray


class RollupBlock(NamedTuple):
    """Many series' rollup buckets end to end, as SeriesBlock holds samples: the first
    ``sizes[0]`` buckets belong to ``labels[0]``; ``columns`` by name (those asked for).
    Why: a read of every series (what changed) would otherwise build an array per
    series and column only to join them again."""

    labels: list[Labels]
    sizes: np.ndarray
    timestamps: np.ndarray
    columns: dict[str, np.ndarray]


class RollupData(NamedTuple):
    """Per-step aggregates of one series; ``timestamps`` are bucket starts (step-aligned).

    A bucket holds samples with start <= t < start + step; ``at_start`` is the value of
    a sample exactly at the start (a staleness-marker NaN where there is none), which
    turns buckets into PromQL's windows, closed at both ends, without raw samples. A
    bucket holding only staleness markers has count 0 (NaN min, max, last, first)."""

    labels: Labels
    timestamps: np.ndarray
    min: np.ndarray
    max: np.ndarray
    sum: np.ndarray
    count: np.ndarray
    last: np.ndarray
    at_start: np.ndarray | None = None
    first: np.ndarray | None = None  # the first real sample's value
    first_at: np.ndarray | None = None  # ms from the bucket start to it
    last_at: np.ndarray | None = None  # ms from the bucket start to the last real one
    resets: np.ndarray | None = None  # rate()'s counter correction inside the bucket
    stale: np.ndarray | None = None  # 1: a staleness marker ends it; +2: one on its start


@dataclass
class Health:
    """ok or degraded, with the reasons an operator must act on."""

    status: str = "ok"
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class TimeSeriesStore(ABC):
    """Append samples, select them back by label matchers, and look after itself."""

    @abstractmethod
    def append(self, labels: LabelsLike, ts_ms: int, value: float) -> bool:
        """Add one sample; False if rejected (out of order, duplicate), counted in stats()."""

    _APPEND_PART = 1024  # samples append_many hands to _append_part at a time

    def resolve(self, labels: LabelsLike) -> Any:
        """A handle that ``append`` and ``append_many`` take in place of ``labels`` and find
        without looking the label set up: for writers that send the same series again and
        again (a scrape cache keeps them). A handle whose series the store has since
        forgotten still works: the store looks its labels up again. By default the label
        set itself."""
        return labels

    def append_many(self, samples: Iterable[tuple[LabelsLike, int, float]]) -> int:
        """Add a batch of samples of any series (a scrape, a remote write); returns how many
        were kept. It goes in parts of ``_APPEND_PART``: a store takes its lock once per
        part, so writers cost busy readers a few hand-offs, not one per sample."""
        kept = 0
        part: list[tuple[LabelsLike, int, float]] = []
        for sample in samples:
            part.append(sample)
            if len(part) == self._APPEND_PART:
                kept += self._append_part(part)
                part = []
        return kept + (self._append_part(part) if part else 0)

    def _append_part(self, part: list[tuple[LabelsLike, int, float]]) -> int:
        """One part of ``append_many``; by default one ``append`` a sample."""
        return sum(1 for labels, ts, value in part if self.append(labels, ts, value))

    def resolve_many(self, labels: Sequence[LabelsLike]) -> Any:
        """Handles for many series at once, for ``append_columns``: for writers that send
        the same series, in the same order, again and again (a cached scrape). By default
        the label sets themselves."""
        return list(labels)

    def append_columns(self, handles: Any, ts_ms: int | np.ndarray, values: np.ndarray) -> int:
        """Add one sample per handle of ``resolve_many``: ``values[i]`` for the i-th, at
        ``ts_ms`` (one timestamp for all, or an array of one each). Exactly what
        ``append_many`` of the same samples does, without a Python object per sample; how
        many were kept. By default ``append_many``."""
        stamps = ts_ms.tolist() if isinstance(ts_ms, np.ndarray) else [int(ts_ms)] * len(handles)
        return self.append_many(zip(handles, stamps, np.asarray(values, np.float64).tolist(),
                                    strict=True))

    @abstractmethod
    def append_array(self, labels: LabelsLike, ts_ms: np.ndarray, values: np.ndarray) -> int:
        """Add many samples of one series, written durably now; returns how many were kept."""

    @abstractmethod
    def commit(self) -> None:
        """Make appended samples durable according to the sync policy (acknowledges them)."""

    @abstractmethod
    def flush(self) -> None:
        """Commit and move the in-memory head into compressed storage."""

    @abstractmethod
    def select(
        self, matchers: Sequence[Matcher], start_ms: int = MIN_TIME, end_ms: int = MAX_TIME
    ) -> Iterator[SeriesData]:
        """Samples of every matching series within [start_ms, end_ms], sorted by labels."""

    def select_blocks(
        self, matchers: Sequence[Matcher], start_ms: int = MIN_TIME, end_ms: int = MAX_TIME
    ) -> Iterator[SeriesBlock]:
        """What select() finds, as blocks of series end to end (in the same order)."""
        found = list(self.select(matchers, start_ms, end_ms))
        if not found:
            return
        yield SeriesBlock(
            [s.labels for s in found],
            np.concatenate([s.timestamps for s in found]),
            np.concatenate([s.values for s in found]),
            np.array([len(s.timestamps) for s in found], dtype=np.int64),
        )

    @abstractmethod
    def select_rollup(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        resolution_ms: int,
        columns: Sequence[str] | None = None,
        windows: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Iterator[RollupData]:
        """min/max/sum/count/last/at_start per step of 1 m, 5 m or 1 h; columns not
        asked for (``columns=("max",)`` reads only max) come back as None. With
        ``windows`` (starts and ends, sorted and apart), buckets outside them may be left
        out (only stores that keep rollups are asked so, see has_rollups)."""

    def select_rollup_block(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int, resolution_ms: int,
        columns: Sequence[str] | None = None,
    ) -> RollupBlock:
        """What select_rollup finds, end to end (in the same order)."""
        found = list(self.select_rollup(matchers, start_ms, end_ms, resolution_ms, columns))
        names = RollupData._fields[2:] if columns is None else columns
        held = {c: [getattr(r, c) for r in found] for c in names}
        return RollupBlock(
            [r.labels for r in found],
            np.array([len(r.timestamps) for r in found], dtype=np.int64),
            np.concatenate([r.timestamps for r in found]) if found else np.empty(0, np.int64),
            {c: np.concatenate(arrays) if arrays else np.empty(0)
             for c, arrays in held.items() if all(a is not None for a in arrays)})

    def has_rollups(self, matchers: Sequence[Matcher], resolution_ms: int) -> bool:
        """Whether a matched series keeps stored rollups at this resolution. Why: rate()
        and selectors read rollups only then; buckets made from raw samples at query
        time (a series too sparse to keep them) cost more than the raw answer."""
        return False

    @abstractmethod
    def series(
        self, matchers: Sequence[Matcher], start_ms: int | None = None, end_ms: int | None = None
    ) -> list[Labels]:
        """Label sets of matching series (with data in the range, if given)."""

    @abstractmethod
    def label_names(
        self,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        """Sorted label names of matching series."""

    @abstractmethod
    def label_values(
        self,
        name: str,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        """Sorted values of one label among matching series."""

    @abstractmethod
    def delete_series(
        self, matchers: Sequence[Matcher], start_ms: int = MIN_TIME, end_ms: int = MAX_TIME
    ) -> int:
        """Delete samples of matching series in the range; returns series touched."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """Series, samples, bytes, time range, rejected samples and similar figures."""

    @abstractmethod
    def health(self) -> Health:
        """ok, or degraded with reasons (foreign files, disk full, locked database...)."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release the store."""

    def __enter__(self) -> TimeSeriesStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
