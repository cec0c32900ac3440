"""OpenMetrics 1.0 text into metric families, with the format's rules enforced.

OpenMetrics is stricter than text 0.0.4: single spaces, no free comments, no blank lines,
``# EOF`` last, metadata before samples, one HELP/TYPE/UNIT per family, a family's label
groups contiguous, histogram buckets ordered with ``+Inf`` equal to ``_count``, counters
neither negative nor NaN, exemplars only on counters' ``_total`` and buckets. Families are
yielded as soon as the next one starts, so a large file streams with memory bounded by its
largest family. Sample lines take the same split-and-cache fast path as text 0.0.4.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from ..metrics.family import Exemplar, Metric, Sample
from .parse_errors import ParseError
from .parse_fast import PLAIN_NAME, ShapeCache, fast_value
from .parse_line import parse_float, scan_om_metadata, scan_om_sample, unescape_help
from .parse_text import new_family

OM_TYPES = frozenset(
    {"counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"}
)
_TYPE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "histogram": ("_count", "_sum", "_bucket", "_created"),
    "gaugehistogram": ("_gcount", "_gsum", "_bucket"),
    "info": ("_info",),
}
_NO_NAN = frozenset({"_total", "_sum", "_count", "_bucket", "_gcount", "_gsum"})
_NO_NEGATIVE = frozenset({"_total", "_sum", "_count", "_bucket", "_gcount"})
_HISTOGRAMS = frozenset({"histogram", "gaugehistogram"})
_new_tuple = tuple.__new__


class _Family:
    """The family being read: its metadata so far and the checks on its label groups."""

    __slots__ = ("doc", "group", "group_series", "group_ts", "last_line", "name", "samples",
                 "seen_groups", "suffixes", "typ", "unit")

    def __init__(self, name: str) -> None:
        self.name = name
        self.doc: str | None = None
        self.typ: str | None = None
        self.unit: str | None = None
        self.samples: list[Sample] = []
        self.suffixes: dict[str, str] = {name: ""}
        self.group: dict[str, str] | None = None
        self.group_ts: float | None = None
        self.group_series: set[object] = set()
        self.seen_groups: set[frozenset[tuple[str, str]]] = set()
        self.last_line = 0


def _fail(lineno: int, message: str, line: str | None = None, column: int = 1) -> ParseError:
    return ParseError(lineno, column, message, line)


def _fast_timestamp(token: str) -> float | None:
    value = fast_value(token)
    if value is None or value - value != 0:
        return None
    return value


def _fast_sample(line: str, cache: ShapeCache, plain_names: set[str]) -> Sample | None:
    """The common ``name{a="x"} value [ts]`` shapes without escapes or exemplars, else None."""
    parts = line.split('"')
    if len(parts) > 1:
        shape = cache.by_first.get(parts[0])
        if shape is None or shape[2] != parts[2:-1:2]:
            shape = cache.resolve(parts)
        if shape is None:
            return None
        sp = parts[-1].split(" ")
        if sp[0] != "}":
            return None
        name = shape[0]
        labels = shape[1](parts)
    else:
        sp = line.split(" ")
        name = sp[0]
        if name not in plain_names:
            if PLAIN_NAME.fullmatch(name) is None:
                return None
            plain_names.add(name)
        labels = {}
    n = len(sp)
    if n == 2:
        ts = None
    elif n == 3:
        ts = _fast_timestamp(sp[2])
        if ts is None:
            return None
    else:
        return None
    value = fast_value(sp[1])
    if value is None:
        return None
    return _new_tuple(Sample, (name, labels, value, ts, None))


def _is_integer(value: float) -> bool:
    return value == value and value not in (math.inf, -math.inf) and value.is_integer()


def _check_sample(fam: _Family, sample: Sample, suffix: str, lineno: int, line: str) -> None:
    """The per-sample rules of OpenMetrics; raises ParseError naming the line."""
    typ = fam.typ
    labels, value = sample[1], sample[2]
    if typ == "stateset":
        if fam.name not in labels:
            raise _fail(lineno, f"stateset sample without its {fam.name!r} label", line)
        if value not in (0.0, 1.0):
            raise _fail(lineno, "stateset samples can only be 0 or 1", line)
    elif typ == "info" and value != 1:
        raise _fail(lineno, "info samples can only have the value 1", line)
    if suffix == "_bucket":
        le = labels.get("le")
        bound = parse_float(le) if le is not None else None
        if bound is None or bound != bound or (bound == math.inf and le != "+Inf"):
            raise _fail(lineno, f"invalid le label {le!r} on a bucket", line)
        if not _is_integer(value):
            raise _fail(lineno, "bucket values must be integers", line)
    elif suffix in ("_count", "_gcount") and not _is_integer(value):
        raise _fail(lineno, "count values must be integers", line)
    elif typ == "summary" and suffix == "":
        q = labels.get("quantile")
        bound = parse_float(q) if q is not None else None
        if bound is None or not 0 <= bound <= 1:
            raise _fail(lineno, f"invalid quantile label {q!r}", line)
        if value < 0:
            raise _fail(lineno, "quantile values cannot be negative", line)
    if suffix in _NO_NAN:
        if value != value:
            raise _fail(lineno, f"{suffix} samples cannot be NaN", line)
        if value < 0 and suffix in _NO_NEGATIVE:
            raise _fail(lineno, f"{suffix} samples cannot be negative", line)
    if sample[4] is not None and not (
        (typ in _HISTOGRAMS and suffix == "_bucket") or (typ == "counter" and suffix == "_total")
    ):
        raise _fail(lineno, "only counters' _total and histogram buckets can have exemplars",
                    line)


def _group_labels(fam: _Family, labels: dict[str, str], suffix: str) -> tuple[dict, object]:
    """The labels that identify a sample's group, and what tells series apart inside it."""
    typ = fam.typ
    if typ == "info":
        return {}, frozenset(labels.items())
    if typ == "summary" and suffix == "":
        drop = "quantile"
    elif typ == "stateset":
        drop = fam.name
    elif suffix == "_bucket" and typ in _HISTOGRAMS:
        drop = "le"
    else:
        return labels, None
    group = dict(labels)
    return group, group.pop(drop, None)


def _add_sample(fam: _Family, sample: Sample, suffix: str, lineno: int, line: str) -> None:
    group, within = _group_labels(fam, sample[1], suffix)
    ts = sample[3]
    if fam.group is not None and group == fam.group:
        if (ts is None) != (fam.group_ts is None):
            raise _fail(lineno, "a mix of samples with and without timestamps in one group",
                        line)
        if fam.group_ts is not None and fam.group_ts > ts and fam.typ != "info":
            raise _fail(lineno, "timestamps went backwards within a group", line)
    else:
        key = frozenset(group.items())
        if key in fam.seen_groups:
            raise _fail(lineno, "samples of one label group are not contiguous", line)
        fam.seen_groups.add(key)
        fam.group = group
        fam.group_series = set()
    series = (sample[0], within)
    if ts != fam.group_ts or series not in fam.group_series:
        fam.samples.append(sample)  # else a duplicate from timestamp truncation: dropped
    fam.group_series.add(series)
    fam.group_ts = ts
    fam.last_line = lineno


def _check_histogram(name: str, samples: list[Sample], lineno: int) -> None:
    """Each group: buckets ascending to +Inf, cumulative counts, _count equal to +Inf."""
    groups: list[list[Sample]] = []
    key: object = None
    for s in samples:
        suffix = s[0][len(name):]
        if suffix not in ("_bucket", "_count", "_sum", "_gcount", "_gsum"):
            continue
        labels = {k: v for k, v in s[1].items() if not (k == "le" and suffix == "_bucket")}
        k = (frozenset(labels.items()), s[3])
        if k != key:
            groups.append([])
            key = k
        groups[-1].append(s)
    for group in groups:
        bound = count = None
        last_value = 0.0
        has_sum = has_gsum = negative_bucket = negative_gsum = False
        for s in group:
            suffix = s[0][len(name):]
            if suffix == "_bucket":
                b = float(s[1]["le"])
                negative_bucket = negative_bucket or b < 0
                if bound is not None and b <= bound:
                    raise _fail(lineno, f"histogram {name}: buckets out of order")
                if s[2] < last_value:
                    raise _fail(lineno, f"histogram {name}: bucket counts decrease")
                bound, last_value = b, s[2]
            elif suffix in ("_count", "_gcount"):
                count = s[2]
            elif suffix == "_sum":
                has_sum = True
            else:
                has_gsum = True
                negative_gsum = negative_gsum or s[2] < 0
        if bound != math.inf:
            raise _fail(lineno, f"histogram {name}: the +Inf bucket is missing")
        if count is not None and count != last_value:
            raise _fail(lineno, f"histogram {name}: _count differs from the +Inf bucket")
        if (has_sum or has_gsum) and count is None:
            raise _fail(lineno, f"histogram {name}: a sum without a count")
        if count is not None and not (has_sum or has_gsum):
            raise _fail(lineno, f"histogram {name}: a count without a sum")
        if negative_bucket and has_sum:
            raise _fail(lineno, f"histogram {name}: _sum with negative buckets")
        if negative_gsum and not negative_bucket:
            raise _fail(lineno, f"histogram {name}: negative _gsum without negative buckets")


def _finish(fam: _Family, seen_names: set[str], lineno: int) -> Metric:
    typ = fam.typ or "unknown"
    name = fam.name
    at = fam.last_line or lineno
    for suffix in {"", *_TYPE_SUFFIXES.get(typ, ())}:
        if name + suffix in seen_names:
            raise _fail(at, f"metric name {name + suffix!r} clashes with an earlier family")
        seen_names.add(name + suffix)
    unit = fam.unit or ""
    if unit and not name.endswith("_" + unit):
        raise _fail(at, f"unit {unit!r} is not the suffix of metric name {name!r}")
    if unit and typ in ("info", "stateset"):
        raise _fail(at, f"{typ} metrics cannot have a unit")
    if typ in _HISTOGRAMS:
        _check_histogram(name, fam.samples, at)
    return new_family(name, fam.doc or "", typ, unit, fam.samples)


def _metadata(fam: _Family, line: str, lineno: int) -> None:
    kind, _, text = scan_om_metadata(line, lineno)
    if kind == "HELP":
        if fam.doc is not None:
            raise _fail(lineno, f"a second HELP for {fam.name!r}", line)
        fam.doc = unescape_help(text, True)
    elif kind == "TYPE":
        if fam.typ is not None:
            raise _fail(lineno, f"a second TYPE for {fam.name!r}", line)
        if text not in OM_TYPES:
            raise _fail(lineno, f"expected an OpenMetrics type, got {text!r}", line,
                        len(line) - len(text) + 1)
        fam.typ = text
        fam.suffixes = {fam.name + s: s for s in _TYPE_SUFFIXES.get(text, ("",))}
    else:
        if fam.unit is not None:
            raise _fail(lineno, f"a second UNIT for {fam.name!r}", line)
        fam.unit = text


def parse_openmetrics_lines(lines: Iterable[str]) -> Iterator[Metric]:
    """Families from OpenMetrics lines (without line breaks); the last must be ``# EOF``."""
    cache = ShapeCache()
    plain_names: set[str] = set()
    seen_names: set[str] = set()
    fam: _Family | None = None
    eof = False
    lineno = 0
    for lineno, line in enumerate(lines, 1):
        if eof:
            raise _fail(lineno, "text after # EOF", line)
        if not line:
            raise _fail(lineno, "a blank line (OpenMetrics does not allow them)", line)
        if line[0] == "#":
            if line == "# EOF":
                eof = True
                continue
            mname = line.split(" ", 3)[2] if line.count(" ") >= 2 else None
            if fam is None or mname != fam.name:
                scan_om_metadata(line, lineno)  # report a malformed line before anything else
                if fam is not None:
                    yield _finish(fam, seen_names, lineno)
                fam = _Family(mname)  # type: ignore[arg-type]
            elif fam.samples or fam.last_line:
                raise _fail(lineno, f"metadata for {fam.name!r} after its samples", line)
            _metadata(fam, line, lineno)
            continue
        sample = None
        if "\\" not in line:
            sample = _fast_sample(line, cache, plain_names)
        if sample is None:
            parsed = scan_om_sample(line, lineno)
            ex = parsed[4]
            sample = _new_tuple(Sample, (
                parsed[0], parsed[1], parsed[2], parsed[3],
                None if ex is None else _new_tuple(Exemplar, tuple(ex))))
        suffix = fam.suffixes.get(sample[0]) if fam is not None else None
        if suffix is None:
            if fam is not None:
                yield _finish(fam, seen_names, lineno)
            fam = _Family(sample[0])
            fam.typ = "unknown"
            suffix = ""
        _check_sample(fam, sample, suffix, lineno, line)
        _add_sample(fam, sample, suffix, lineno, line)
    if fam is not None:
        yield _finish(fam, seen_names, lineno)
    if not eof:
        raise _fail(lineno + 1, "expected '# EOF' at the end of OpenMetrics text")
