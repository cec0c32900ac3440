"""The rules OpenMetrics sets on sample values and on histograms, checked as we parse.

Counters are never negative or NaN, buckets count whole observations below a canonical
``le`` and end at ``+Inf`` equal to ``_count``, quantiles lie in [0, 1], infos are 1 and
stateset states 0 or 1, and only counters' ``_total`` and buckets carry exemplars.
"""

from __future__ import annotations

import math

from ..metrics.family import Sample
from .parse_errors import ParseError
from .parse_line import parse_float

OM_TYPES = frozenset(
    {"counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"}
)
TYPE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "histogram": ("_count", "_sum", "_bucket", "_created"),
    "gaugehistogram": ("_gcount", "_gsum", "_bucket"),
    "info": ("_info",),
}
HISTOGRAMS = frozenset({"histogram", "gaugehistogram"})
_NO_NAN = frozenset({"_total", "_sum", "_count", "_bucket", "_gcount", "_gsum"})
_NO_NEGATIVE = frozenset({"_total", "_sum", "_count", "_bucket", "_gcount"})


def fail(lineno: int, message: str, line: str | None = None, column: int = 1) -> ParseError:
    return ParseError(lineno, column, message, line)


_fail = fail


def _is_integer(value: float) -> bool:
    return value == value and value not in (math.inf, -math.inf) and value.is_integer()


def check_sample(typ: str, family: str, sample: Sample, suffix: str, lineno: int,
                 line: str) -> None:
    """The per-sample rules of OpenMetrics; raises ParseError naming the line."""
    labels, value = sample[1], sample[2]
    if typ == "stateset":
        if family not in labels:
            raise _fail(lineno, f"stateset sample without its {family!r} label", line)
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
        (typ in HISTOGRAMS and suffix == "_bucket") or (typ == "counter" and suffix == "_total")
    ):
        raise _fail(lineno, "only counters' _total and histogram buckets can have exemplars",
                    line)


def group_of(typ: str, family: str, labels: dict[str, str], suffix: str,
             name: str) -> tuple[dict[str, str], object]:
    """The labels naming a sample's group (MetricPoint) and what tells series apart in it."""
    if typ == "info":
        return {}, (name, frozenset(labels.items()))
    if typ == "summary" and suffix == "":
        drop = "quantile"
    elif typ == "stateset":
        drop = family
    elif suffix == "_bucket" and typ in HISTOGRAMS:
        drop = "le"
    else:
        return labels, name
    group = dict(labels)
    return group, (name, group.pop(drop, None))


def check_histogram(name: str, samples: list[Sample], lineno: int) -> None:
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


