"""Per-target scrape cache: a body whose lines differ from the last good scrape's only in
their values skips the parser and the labelling.

Why: a target exposes the same series scrape after scrape, and parsing, relabelling and
attaching the target's labels cost several microseconds a sample, far more than reading
the values. Prometheus's scrape cache keeps each series line's text mapped to its series
for the same reason. Here the whole body is the unit: the cache holds the body split at
the last word of every line (for a sample line, its value), the last words of comment
lines, and the labelled dict each sample line produced. A new body qualifies when it
splits into the same text around its last words and only sample lines' words changed;
then each sample is the cached labels with the freshly read value, exactly what the full
path would have produced, handed on as columns (``CachedSamples``). Anything else (a
series more or less, a changed comment, a timestamp, an odd value spelling, OpenMetrics)
takes the full path, which refills the cache.

Only text 0.0.4 bodies without escapes or control whitespace are cached, and only when
every sample line ends in a single space and a value the full parser read as such, so a
cached key always parses to the same labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from watchkeeper.exposition.parse import is_openmetrics
from watchkeeper.exposition.parse_line import parse_float
from watchkeeper.exposition.parse_text import text_is_clean

Labelled = dict[str, str] | None  # a sample line's labels after relabelling; None: dropped


class SeriesRefs:
    """Where the writer keeps the store's handles for a cached scrape's samples (see
    ``TimeSeriesStore.resolve``): opaque here, and new with every fill, so handles live
    exactly as long as the series list they were resolved for."""

    __slots__ = ("owner", "refs")

    def __init__(self) -> None:
        self.owner: Any = None  # the store the handles belong to
        self.refs: list[Any] | None = None


class CachedSamples(Sequence[tuple[dict[str, str], int, float]]):
    """A cached scrape's samples as columns: the label sets of the scrape that filled the
    cache (shared from one scrape to the next: never modify them), one timestamp and a
    float64 array of this scrape's values, then ``rest``, samples as tuples (the report
    series). Reads as the list of ``(labels, ts, value)`` the full path gives; a writer
    that knows it appends the columns whole and keeps the store's handles for ``labels``
    in ``refs``, with no Python object per sample."""

    __slots__ = ("labels", "refs", "rest", "ts", "values")

    def __init__(self, labels: list[dict[str, str]], ts: int, values: np.ndarray,
                 refs: SeriesRefs, rest: Sequence[tuple[dict[str, str], int, float]] = ()
                 ) -> None:
        self.labels, self.ts, self.values, self.refs = labels, ts, values, refs
        self.rest = list(rest)

    def followed_by(self, rest: Sequence[tuple[dict[str, str], int, float]]
                    ) -> CachedSamples:
        return CachedSamples(self.labels, self.ts, self.values, self.refs, rest)

    def __len__(self) -> int:
        return len(self.labels) + len(self.rest)

    def __iter__(self) -> Iterator[tuple[dict[str, str], int, float]]:
        ts = self.ts
        for labels, value in zip(self.labels, self.values.tolist(), strict=True):
            yield labels, ts, value
        yield from self.rest

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return list(self)[i]
        n, size = len(self.labels), len(self)
        if i < 0:
            i += size
        if not 0 <= i < size:
            raise IndexError("sample index out of range")
        return (self.labels[i], self.ts, float(self.values[i])) if i < n else self.rest[i - n]


class _Last(NamedTuple):
    target: Any
    content_type: str
    skeleton: list[str]  # the body split at the last word of every line (see _LAST_WORD)
    words: list[tuple[int, str]]  # (index, text) of the last words of comment lines
    values_at: Any  # picks the value words from all the last words (None: all of them)
    labelled: list[Labelled]
    kept: list[dict[str, str]]  # the labelled ones not dropped, in order
    picks: np.ndarray | None  # where they are among the sample lines (None: all of them)
    metadata: dict[str, Any]
    refs: SeriesRefs


# The last word of a line: what follows its last space. Splitting a body there gives the
# rest of the body (every line up to its last space, and the lines without one) between
# the words, in one pass of the regex engine and without an object per line but strings.
_LAST_WORD = re.compile(r" ([^ \n]*)$", re.MULTILINE)


class ScrapeCache:
    """The last good scrape of one target, as ``replay`` needs it. It is swapped whole, so
    a late parse of a cancelled scrape can never mix two scrapes."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: _Last | None = None

    def clear(self) -> None:
        """Forget the last scrape (it failed, or the target changed)."""
        self.last = None

    def fill(self, body: bytes, content_type: str, target: Any, labelled: Sequence[Labelled],
             samples: Sequence[Any], metadata: dict[str, Any]) -> None:
        """Remember a scrape the full path parsed: ``samples`` are the parser's samples in
        order and ``labelled`` what each became. Leaves the cache empty when the body does
        not qualify."""
        self.last = None
        if is_openmetrics(content_type) or len(labelled) != len(samples):
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return
        if not text_is_clean(text):
            return
        parts = _LAST_WORD.split(text)
        words = parts[1::2]
        comment_words, value_at = [], []
        k = w = 0
        for line in _lines(text):
            has_word = " " in line
            stripped = line.lstrip(" ")
            if not stripped or stripped[0] == "#":
                if has_word:
                    comment_words.append((w, words[w]))
                    w += 1
                continue
            if k >= len(samples) or not has_word:
                return
            s = samples[k]
            value = parse_float(words[w])
            if (value is None or s.timestamp is not None
                    or not (value == s.value or (value != value and s.value != s.value))):
                return
            value_at.append(w)
            k += 1
            w += 1
        if k != len(samples) or not value_at or w != len(words):
            return
        kept = [x for x in labelled if x is not None]
        picks = None if len(kept) == len(labelled) else np.flatnonzero(
            np.fromiter((x is not None for x in labelled), dtype=bool, count=len(labelled)))
        values_at = None if len(value_at) == len(words) else (
            itemgetter(*value_at) if len(value_at) > 1 else lambda ws: (ws[value_at[0]],))
        self.last = _Last(target, content_type, parts[0::2], comment_words, values_at,
                          list(labelled), kept, picks, metadata, SeriesRefs())

    def replay(self, body: bytes, content_type: str, target: Any
               ) -> tuple[_Last, list[float]] | None:
        """(the cached scrape, the value of each sample line) when ``body`` qualifies: the
        same text as the cached scrape's but for the last word of its sample lines."""
        last = self.last
        if last is None or target is not last.target or content_type != last.content_type:
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not text_is_clean(text):
            return None
        parts = _LAST_WORD.split(text)
        if parts[0::2] != last.skeleton:  # then the lines and their words line up
            return None
        words = parts[1::2]
        for i, word in last.words:
            if words[i] != word:
                return None
        tokens = words if last.values_at is None else last.values_at(words)
        joined = "".join(tokens)
        if not joined.isascii() or not joined.isprintable() or "_" in joined:
            return None
        try:
            values = list(map(float, tokens))
        except ValueError:
            return None
        total = sum(values)  # an overflow to infinity only costs the check below
        if total - total != 0:  # a NaN or an infinity somewhere: spelled as Go reads it?
            for i, value in enumerate(values):
                if value - value != 0:
                    checked = parse_float(tokens[i])
                    if checked is None:
                        return None
                    values[i] = checked
        return last, values


def _lines(text: str) -> list[str]:
    """The lines the parser reads: split at ``\\n``, no empty last line."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines
