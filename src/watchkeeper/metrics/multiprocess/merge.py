"""Merging numbers from many workers into one set of metric families.

Counters, histograms and summaries add up over workers. Gauges follow their
multiprocess mode, as in prometheus_client: ``all``/``liveall`` keep one series per
worker with a ``pid`` label; ``min``, ``max``, ``sum`` and ``mostrecent`` (and their
``live`` forms) fold workers into one series. Histogram buckets are stored per bucket and
made cumulative only when families are built, so merged tables can be merged again
(that is what compaction does).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

from ..family import Metric, Sample
from .aggregate import Aggregate
from .files import ParsedFile

# key bytes -> (metric name, sample name, sorted label pairs, help text)
ParsedKey = tuple[str, str, tuple[tuple[str, str], ...], str]
KEY_CACHE_LIMIT = 200_000


_decode_json = json.JSONDecoder().decode  # skips json.loads' encoding sniffing


def parse_key(key: bytes) -> ParsedKey | None:
    """Decode one entry's key; None when it is not a well-formed key."""
    try:
        metric, sample, names, values, doc = _decode_json(key.decode("utf-8"))
        labels = tuple(sorted(zip(names, values, strict=True)))
    except (ValueError, TypeError):  # UnicodeDecodeError is a ValueError
        return None
    if type(metric) is not str or type(sample) is not str or type(doc) is not str:
        return None
    for name, value in labels:
        if type(name) is not str or type(value) is not str:
            return None
    return metric, sample, labels, doc


def merge_file(
    into: Aggregate, typ: str, mode: str, pid: str, parsed: ParsedFile,
    key_cache: dict[bytes, ParsedKey | None],
) -> bool:
    """Fold one worker's file into ``into``; True if some entry could not be understood."""
    if len(key_cache) > KEY_CACHE_LIMIT:
        key_cache.clear()
    families = into.families
    samples = into.samples
    per_pid = mode in ("all", "liveall")
    damaged = parsed.damaged
    for key, value, ts, _ in parsed.entries:
        decoded = key_cache.get(key, False)
        if decoded is False:
            decoded = key_cache[key] = parse_key(key)
        if decoded is None:
            damaged = True
            continue
        metric, sample, labels, doc = decoded
        if metric not in families:
            families[metric] = (typ, mode, doc)
        if per_pid:
            labels = tuple(sorted((*labels, ("pid", pid))))
        skey = (metric, sample, labels)
        current = samples.get(skey)
        if current is None:
            samples[skey] = [value, ts]
        else:
            combine(current, value, ts, typ, mode)
    return damaged


def merge_aggregate(into: Aggregate, other: Aggregate) -> None:
    """Fold a merged table (an aggregate file) into ``into``."""
    families = into.families
    samples = into.samples
    for metric, info in other.families.items():
        families.setdefault(metric, info)
    for skey, (value, ts) in other.samples.items():
        current = samples.get(skey)
        if current is None:
            samples[skey] = [value, ts]
        else:
            typ, mode, _ = other.families.get(skey[0], ("counter", "", ""))
            combine(current, value, ts, typ, mode)


def combine(current: list[float], value: float, ts: float, typ: str, mode: str) -> None:
    """Merge one worker's number into the running one, per type and gauge mode."""
    if typ != "gauge" or mode in ("sum", "livesum"):
        current[0] += value
    elif mode in ("min", "livemin"):
        if value < current[0]:
            current[0] = value
    elif mode in ("max", "livemax"):
        if value > current[0]:
            current[0] = value
    elif mode in ("mostrecent", "livemostrecent"):
        if ts > current[1]:
            current[0] = value
            current[1] = ts
    else:  # all, liveall: the pid label keeps workers apart; a reused pid overwrites
        current[0] = value
        current[1] = ts


def _le_order(le: str) -> float:
    try:
        return float(le)
    except ValueError:
        return math.inf


def build_families(merged: Aggregate) -> Iterator[Metric]:
    """Metric families from a merged table, sorted by name."""
    by_metric: dict[str, list[tuple[str, tuple[tuple[str, str], ...], float]]] = {}
    for (metric, sample, labels), (value, _ts) in merged.samples.items():
        by_metric.setdefault(metric, []).append((sample, labels, value))
    for metric in sorted(by_metric):
        typ, _mode, doc = merged.families.get(metric, ("untyped", "", ""))
        try:
            family = Metric(metric, doc, typ if typ != "untyped" else "unknown")
        except ValueError:
            continue
        rows = by_metric[metric]
        if typ == "histogram":
            family.samples = _histogram_samples(metric, rows)
        else:
            rows.sort(key=lambda r: (r[1], r[0]))
            family.samples = [Sample(s, dict(lbl), v) for s, lbl, v in rows]
        yield family


def _histogram_samples(metric: str, rows: list) -> list[Sample]:
    """Cumulative buckets, then ``_count`` (the +Inf bucket) and ``_sum``, per label set."""
    buckets: dict[tuple, dict[str, float]] = {}
    others: dict[tuple, list[tuple[str, float]]] = {}
    bucket_name = metric + "_bucket"
    count_name = metric + "_count"
    for sample, labels, value in rows:
        le = next((v for k, v in labels if k == "le"), None) if sample == bucket_name else None
        if le is None:
            others.setdefault(labels, []).append((sample, value))
            continue
        rest = tuple(p for p in labels if p[0] != "le")
        per_le = buckets.setdefault(rest, {})
        per_le[le] = per_le.get(le, 0.0) + value
    out = []
    for labels in sorted(set(buckets) | set(others)):
        base = dict(labels)
        per_le = buckets.get(labels)
        if per_le:
            total = 0.0
            for le in sorted(per_le, key=_le_order):
                total += per_le[le]
                out.append(Sample(bucket_name, {**base, "le": le}, total))
            out.append(Sample(count_name, base, total))
        for sample, value in sorted(others.get(labels, ())):
            if per_le and sample == count_name:
                continue  # derived from the buckets above
            out.append(Sample(sample, base, value))
    return out
