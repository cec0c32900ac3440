"""Functions of instant vectors: math, clamps, dates, labels and histogram_quantile."""

from __future__ import annotations

import re

import numpy as np

from watchkeeper.promql.errors import PromQLEvalError
from watchkeeper.promql.values import Vector, drop_name, merge_duplicates
from watchkeeper.tsdb.errors import BadMatcherError
from watchkeeper.tsdb.labels import METRIC_NAME, Labels
from watchkeeper.tsdb.matchers import compile_regex

MATH = {
    "abs": np.abs, "ceil": np.ceil, "floor": np.floor, "exp": np.exp, "sqrt": np.sqrt,
    "ln": np.log, "log2": np.log2, "log10": np.log10, "sgn": np.sign,
    "acos": np.arccos, "acosh": np.arccosh, "asin": np.arcsin, "asinh": np.arcsinh,
    "atan": np.arctan, "atanh": np.arctanh, "cos": np.cos, "cosh": np.cosh, "sin": np.sin,
    "sinh": np.sinh, "tan": np.tan, "tanh": np.tanh, "deg": np.degrees, "rad": np.radians,
}
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def map_values(vec: Vector, values: np.ndarray, mask: np.ndarray | None = None) -> Vector:
    """Same series with new values and the metric name dropped, as most functions do."""
    return merge_duplicates([drop_name(lab) for lab in vec.labels], values,
                            vec.mask if mask is None else mask)


def math_function(name: str, vec: Vector) -> Vector:
    with np.errstate(all="ignore"):
        return map_values(vec, MATH[name](vec.values))


def round_to(vec: Vector, to_nearest: np.ndarray) -> Vector:
    with np.errstate(all="ignore"):
        inverse = 1.0 / to_nearest[None, :]
        return map_values(vec, np.floor(vec.values * inverse + 0.5) / inverse)


def clamp(vec: Vector, low: np.ndarray | None, high: np.ndarray | None) -> Vector:
    values, mask = vec.values, vec.mask
    if low is not None:
        values = np.where(np.isnan(values), values, np.maximum(low[None, :], values))
        values = np.where(np.isnan(low)[None, :], np.nan, values)
    if high is not None:
        values = np.where(np.isnan(values), values, np.minimum(high[None, :], values))
        values = np.where(np.isnan(high)[None, :], np.nan, values)
    if low is not None and high is not None:
        mask = mask & ~(high < low)[None, :]
    return map_values(vec, values, mask)


def date_function(name: str, vec: Vector) -> Vector:
    with np.errstate(all="ignore"):
        secs = np.where(np.isfinite(vec.values), vec.values, 0).astype(np.int64)
    days = np.floor_divide(secs, 86400)
    dt = days.astype("datetime64[D]")
    years = dt.astype("datetime64[Y]")
    months = dt.astype("datetime64[M]")
    if name == "year":
        out = years.astype(np.int64) + 1970
    elif name == "month":
        out = months.astype(np.int64) % 12 + 1
    elif name == "day_of_month":
        out = (dt - months).astype(np.int64) + 1
    elif name == "day_of_year":
        out = (dt - years).astype(np.int64) + 1
    elif name == "day_of_week":
        out = (days + 4) % 7
    elif name == "days_in_month":
        out = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(
            np.int64)
    elif name == "hour":
        out = (secs % 86400) // 3600
    else:  # minute
        out = (secs % 3600) // 60
    return map_values(vec, out.astype(np.float64))


def _go_expand(template: str, groups: dict[int | str, str | None]) -> str:
    """Go regexp Expand: $1, ${1}, $name, ${name}; a missing group expands to nothing."""
    out, i = [], 0
    while i < len(template):
        ch = template[i]
        if ch != "$" or i + 1 >= len(template):
            out.append(ch)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            end = template.find("}", i + 2)
            name = template[i + 2:end] if end > 0 else ""
            if end < 0 or not re.fullmatch(r"\w+", name):
                out.append(ch)
                i += 1
                continue
            i = end + 1
        else:
            m = re.match(r"\w+", template[i + 1:])
            if not m:
                out.append(ch)
                i += 1
                continue
            name = m.group()
            i += 1 + len(name)
        out.append(groups.get(int(name) if name.isdigit() else name) or "")
    return "".join(out)


def label_replace(vec: Vector, dst: str, replacement: str, src: str, regex: str) -> Vector:
    try:
        pattern = compile_regex(regex, alone=False)
    except BadMatcherError as e:
        raise PromQLEvalError(f"invalid regular expression in label_replace(): {e}") from None
    if not _LABEL_NAME.fullmatch(dst):
        raise PromQLEvalError(f"invalid destination label name in label_replace(): {dst}")
    labels = []
    for lab in vec.labels:
        m = pattern.groups(lab.get(src))
        if m is None:
            labels.append(lab)
            continue
        pairs = dict(lab)
        value = _go_expand(replacement, m)
        if value:
            pairs[dst] = value
        else:
            pairs.pop(dst, None)
        labels.append(Labels.of(pairs))
    return merge_duplicates(labels, vec.values, vec.mask)


def label_join(vec: Vector, dst: str, sep: str, srcs: list[str]) -> Vector:
    if not _LABEL_NAME.fullmatch(dst):
        raise PromQLEvalError(f"invalid destination label name in label_join(): {dst}")
    labels = []
    for lab in vec.labels:
        pairs = dict(lab)
        value = sep.join(lab.get(s) for s in srcs)
        if value:
            pairs[dst] = value
        else:
            pairs.pop(dst, None)
        labels.append(Labels.of(pairs))
    return merge_duplicates(labels, vec.values, vec.mask)


def histogram_quantile(q: np.ndarray, vec: Vector) -> Vector:
    """Quantiles from cumulative 'le' buckets, interpolating linearly within a bucket."""
    steps = vec.values.shape[1]
    groups: dict[Labels, list[tuple[float, int]]] = {}
    for i, lab in enumerate(vec.labels):
        le = lab.get("le")
        try:
            upper = float(le)
        except ValueError:
            continue
        if not le:
            continue
        key = tuple.__new__(Labels, tuple(p for p in lab if p[0] not in ("le", METRIC_NAME)))
        groups.setdefault(key, []).append((upper, i))
    labels, rows_v, rows_m = [], [], []
    for key, buckets in groups.items():
        buckets.sort(key=lambda b: b[0])
        rows = [i for _, i in buckets]
        counts, mask = vec.values[rows], vec.mask[rows]
        present = mask.any(axis=0)
        out = np.full(steps, np.nan)
        full = mask.all(axis=0) & ~np.isnan(counts).any(axis=0)
        if full.any():
            out[full] = _quantiles_all_present(q[full], [u for u, _ in buckets], counts[:, full])
        for s in np.flatnonzero(present & ~full):
            have = [(u, vec.values[i, s]) for u, i in buckets if vec.mask[i, s]]
            out[s] = bucket_quantile(float(q[s]), have)
        labels.append(key)
        rows_v.append(out)
        rows_m.append(present)
    if not labels:
        return Vector.empty(steps)
    return merge_duplicates(labels, np.array(rows_v), np.array(rows_m, dtype=bool))


def _quantiles_all_present(q: np.ndarray, uppers: list[float], counts: np.ndarray,
                           ) -> np.ndarray:
    """bucket_quantile for many steps at once, where every bucket has a sample."""
    bounds = np.array(uppers)
    if len(bounds) and np.any(bounds[1:] == bounds[:-1]):  # coalesce equal bounds
        unique, inverse = np.unique(bounds, return_inverse=True)
        merged = np.zeros((len(unique), counts.shape[1]))
        np.add.at(merged, inverse, counts)
        bounds, counts = unique, merged
    out = np.full(counts.shape[1], np.nan)
    if not len(bounds) or bounds[-1] != np.inf or len(bounds) < 2:
        pass
    else:
        counts = np.maximum.accumulate(counts, axis=0)
        observations = counts[-1]
        rank = q * observations
        ge = counts[:-1] >= rank[None, :]
        b = np.where(ge.any(axis=0), ge.argmax(axis=0), len(bounds) - 1)
        cols = np.arange(counts.shape[1])
        prev = np.maximum(b - 1, 0)
        has_prev = b > 0
        start = np.where(has_prev, bounds[prev], 0.0)
        end = bounds[np.minimum(b, len(bounds) - 1)]
        below = np.where(has_prev, counts[prev, cols], 0.0)
        with np.errstate(all="ignore"):
            inside = start + (end - start) * ((rank - below) / (counts[b, cols] - below))
        out = np.where(b == len(bounds) - 1, bounds[-2], inside)
        out = np.where((b == 0) & (bounds[0] <= 0), bounds[0], out)
        out = np.where(observations == 0, np.nan, out)
    out = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, out))
    return np.where(np.isnan(q), np.nan, out)


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    if q != q:
        return float("nan")
    if q < 0:
        return float("-inf")
    if q > 1:
        return float("inf")
    if buckets[-1][0] != float("inf"):
        return float("nan")
    merged: list[list[float]] = []
    for upper, count in buckets:
        if merged and merged[-1][0] == upper:
            merged[-1][1] += count
        else:
            merged.append([upper, count])
    highest = merged[0][1]
    for b in merged[1:]:
        if b[1] > highest:
            highest = b[1]
        elif b[1] < highest:
            b[1] = highest
    if len(merged) < 2:
        return float("nan")
    observations = merged[-1][1]
    if observations == 0:
        return float("nan")
    rank = q * observations
    b = next((i for i in range(len(merged) - 1) if merged[i][1] >= rank), len(merged) - 1)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[b][0], merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    with np.errstate(all="ignore"):
        return float(start + (end - start) * (np.float64(rank) / count))
