"""OpenMetrics 1.0 text into metric families, with the format's rules enforced.

OpenMetrics is stricter than text 0.0.4: single spaces, no free comments, no blank lines,
``# EOF`` last, metadata before samples, one HELP/TYPE/UNIT per family, a family's label
groups contiguous with timestamps that never go back, plus the value rules in
``parse_om_rules``. Families are yielded as soon as the next one starts, so a large file
streams with memory bounded by its largest family. Sample lines take the same
split-and-cache fast path as text 0.0.4; the grouping state lives in locals because the
store's importer pushes millions of timestamped samples through this loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..metrics.family import Exemplar, Metric, Sample
from .parse_fast import PLAIN_NAME, ShapeCache, fast_value
from .parse_line import scan_om_metadata, scan_om_sample, unescape_help
from .parse_om_rules import (
    HISTOGRAMS,
    OM_TYPES,
    TYPE_SUFFIXES,
    check_histogram,
    check_sample,
    fail,
    group_of,
)
from .parse_text import new_family

_new_tuple = tuple.__new__
_NO_TIMESTAMP_YET = object()  # equal to no timestamp, not even to None
# Families whose samples are grouped by all their labels and have no value rules.
_PLAIN_TYPES = frozenset({"gauge", "unknown"})
_GROUPED_BY_ALL_LABELS = frozenset({"counter", "gauge", "unknown"})


class _Family:
    """The metadata of the family being read, and the line of its last sample."""

    __slots__ = ("doc", "last_line", "name", "samples", "suffixes", "typ", "unit")

    def __init__(self, name: str, typ: str | None = None) -> None:
        self.name = name
        self.doc: str | None = None
        self.typ = typ
        self.unit: str | None = None
        self.samples: list[Sample] = []
        self.suffixes: dict[str, str] = {name: ""}
        self.last_line = 0


def _finish(fam: _Family, seen_names: set[str], lineno: int) -> Metric:
    typ = fam.typ or "unknown"
    name = fam.name
    at = fam.last_line or lineno
    for suffix in {"", *TYPE_SUFFIXES.get(typ, ())}:
        if name + suffix in seen_names:
            raise fail(at, f"metric name {name + suffix!r} clashes with an earlier family")
        seen_names.add(name + suffix)
    unit = fam.unit or ""
    if unit and not name.endswith("_" + unit):
        raise fail(at, f"unit {unit!r} is not the suffix of metric name {name!r}")
    if unit and typ in ("info", "stateset"):
        raise fail(at, f"{typ} metrics cannot have a unit")
    if typ in HISTOGRAMS:
        check_histogram(name, fam.samples, at)
    return new_family(name, fam.doc or "", typ, unit, fam.samples)


def _metadata(fam: _Family, line: str, lineno: int) -> None:
    kind, _, text = scan_om_metadata(line, lineno)
    if kind == "HELP":
        if fam.doc is not None:
            raise fail(lineno, f"a second HELP for {fam.name!r}", line)
        fam.doc = unescape_help(text, True)
    elif kind == "TYPE":
        if fam.typ is not None:
            raise fail(lineno, f"a second TYPE for {fam.name!r}", line)
        if text not in OM_TYPES:
            raise fail(lineno, f"expected an OpenMetrics type, got {text!r}", line,
                       len(line) - len(text) + 1)
        fam.typ = text
        fam.suffixes = {fam.name + s: s for s in TYPE_SUFFIXES.get(text, ("",))}
    else:
        if fam.unit is not None:
            raise fail(lineno, f"a second UNIT for {fam.name!r}", line)
        fam.unit = text


def _fast_sample(line: str, plain_names: set[str]) -> Sample | None:
    """A ``name value [ts]`` line without labels, escapes or exemplars, else None."""
    sp = line.split(" ")
    name = sp[0]
    if name not in plain_names:
        if PLAIN_NAME.fullmatch(name) is None:
            return None
        plain_names.add(name)
    n = len(sp)
    if n == 2:
        ts = None
    elif n == 3:
        ts = fast_value(sp[2])
        if ts is None or ts - ts != 0:
            return None  # timestamps are finite
    else:
        return None
    value = fast_value(sp[1])
    if value is None:
        return None
    return _new_tuple(Sample, (name, {}, value, ts, None))


def parse_openmetrics_lines(lines: Iterable[str]) -> Iterator[Metric]:
    """Families from OpenMetrics lines (without line breaks); the last must be ``# EOF``."""
    cache = ShapeCache()
    by_first = cache.by_first
    resolve = cache.resolve
    plain_names: set[str] = set()
    seen_names: set[str] = set()
    fam: _Family | None = None
    suffixes: dict[str, str] = {}
    typ = ""
    append = None
    plain = by_all_labels = True
    # The current group (MetricPoint) and the series already seen at its current timestamp.
    group: dict[str, str] | None = None
    group_ts: object = _NO_TIMESTAMP_YET
    at_ts: object = None
    at_ts_set: set[object] | None = None
    seen_groups: set[frozenset[tuple[str, str]]] = set()
    last_line = 0
    eof = False
    lineno = 0
    for lineno, line in enumerate(lines, 1):
        if eof:
            raise fail(lineno, "text after # EOF", line)
        sample = None
        if line and line[0] != "#" and "\\" not in line:
            parts = line.split('"')
            if len(parts) > 1:  # the labelled shape, inline: importers send millions
                shape = by_first.get(parts[0])
                labels = shape[1](parts) if shape is not None else None
                if labels is None:
                    shape = resolve(parts)
                    labels = shape[1](parts) if shape is not None else None
                if labels is not None:
                    sp = parts[-1].split(" ")
                    k = len(sp)
                    if sp[0] == "}" and (k == 2 or k == 3):
                        value = fast_value(sp[1])
                        ts = None
                        if k == 3:
                            ts = fast_value(sp[2])
                            if ts is None or ts - ts != 0:
                                value = None  # timestamps are finite
                        if value is not None:
                            sample = _new_tuple(Sample, (shape[0], labels, value, ts, None))
            else:
                sample = _fast_sample(line, plain_names)
        if sample is None:
            if not line:
                raise fail(lineno, "a blank line (OpenMetrics does not allow them)", line)
            if line[0] == "#":
                if line == "# EOF":
                    eof = True
                    continue
                mname = line.split(" ", 3)[2] if line.count(" ") >= 2 else None
                if fam is None or mname != fam.name:
                    scan_om_metadata(line, lineno)  # a malformed line is reported first
                    if fam is not None:
                        fam.last_line = last_line
                        yield _finish(fam, seen_names, lineno)
                    fam = _Family(mname)  # type: ignore[arg-type]
                    suffixes = fam.suffixes
                    last_line = 0
                elif last_line:
                    raise fail(lineno, f"metadata for {fam.name!r} after its samples", line)
                _metadata(fam, line, lineno)
                suffixes = fam.suffixes
                typ = fam.typ or "unknown"
                plain = typ in _PLAIN_TYPES
                by_all_labels = typ in _GROUPED_BY_ALL_LABELS
                continue
            parsed = scan_om_sample(line, lineno)
            ex = parsed[4]
            sample = _new_tuple(Sample, (
                parsed[0], parsed[1], parsed[2], parsed[3],
                None if ex is None else _new_tuple(Exemplar, tuple(ex))))

        name = sample[0]
        suffix = suffixes.get(name)
        if suffix is None or fam is None:
            if fam is not None:
                fam.last_line = last_line
                yield _finish(fam, seen_names, lineno)
            fam = _Family(name, "unknown")
            suffixes = fam.suffixes
            last_line = 0
            suffix = ""
            typ = "unknown"
            plain = by_all_labels = True
        if append is None or not last_line:
            # The family's first sample: fresh grouping state.
            append = fam.samples.append
            group = None
            group_ts = _NO_TIMESTAMP_YET
            seen_groups = set()
        if not plain or sample[4] is not None:
            value = sample[2]
            if (typ != "counter" or suffix != "_total" or sample[4] is not None
                    or value != value or value < 0):
                check_sample(typ, fam.name, sample, suffix, lineno, line)

        ts = sample[3]
        if by_all_labels:
            labels, series = sample[1], name
        else:
            labels, series = group_of(typ, fam.name, sample[1], suffix, name)
        if labels == group:
            if (ts is None) != (group_ts is None):
                raise fail(lineno, "a mix of samples with and without timestamps in one group",
                           line)
            if ts is not None and group_ts > ts and typ != "info":  # type: ignore[operator]
                raise fail(lineno, "timestamps went backwards within a group", line)
        else:
            key = frozenset(labels.items())
            if key in seen_groups:
                raise fail(lineno, "samples of one label group are not contiguous", line)
            seen_groups.add(key)
            group = labels
            group_ts = _NO_TIMESTAMP_YET
        last_line = lineno
        if ts == group_ts:
            # A second sample of a series at one timestamp is a duplicate: dropped.
            if at_ts_set is None:
                at_ts_set = {at_ts}
            if series in at_ts_set:
                continue
            at_ts_set.add(series)
        else:
            group_ts = ts
            at_ts = series
            at_ts_set = None
        append(sample)

    if fam is not None:
        fam.last_line = last_line
        yield _finish(fam, seen_names, lineno)
    if not eof:
        raise fail(lineno + 1, "expected '# EOF' at the end of OpenMetrics text")
