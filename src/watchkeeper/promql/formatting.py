"""Numbers and results as Prometheus writes them (Go's shortest 'f' float formatting)."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np


def format_value(value: float) -> str:
    """strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e16:
        return str(int(value)) if value != 0 or math.copysign(1, value) > 0 else "-0"
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def format_values(values: list[float]) -> list[str]:
    """format_value over a list, with the common cases inlined (the API's hot path)."""
    out = []
    append = out.append
    for v in values:
        if v == v and -1e16 < v < 1e16 and v == int(v):
            append(str(int(v)) if v != 0 or math.copysign(1, v) > 0 else "-0")
        else:
            text = repr(v)
            append(format_value(v) if v != v or "e" in text or "inf" in text else text)
    return out


def _points(times_ms: np.ndarray, values: np.ndarray) -> list[list]:
    stamps = [t // 1000 if t % 1000 == 0 else t / 1000 for t in times_ms.tolist()]
    return [list(p) for p in zip(stamps, format_values(values.tolist()), strict=True)]


def format_timestamp(ms: int) -> float | int:
    """Unix seconds as the JSON number Prometheus prints (1435781451.781)."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def result_to_api(result) -> dict:  # type: ignore[no-untyped-def]
    """The ``data`` object of a Prometheus query response for an engine Result."""
    from watchkeeper.promql.values import RangeData, Scalar, String, Vector

    value, times = result.value, result.times
    if isinstance(value, Scalar):
        data: object = [format_timestamp(int(times[-1])), format_value(float(value.values[-1]))]
        if result.kind == "matrix":  # a scalar range query answers as one unlabelled series
            data = [{"metric": {}, "values": _points(times, value.values)}]
        return {"resultType": result.kind, "result": data}
    if isinstance(value, String):
        return {"resultType": "string",
                "result": [format_timestamp(int(times[-1])), value.value]}
    if isinstance(value, RangeData):
        series = []
        for s in value.series:
            a, b = int(s.lo[-1]), int(s.hi[-1])
            if b > a:
                series.append({"metric": s.labels.to_dict(),
                               "values": _points(s.ts[a:b], s.values[a:b])})
        return {"resultType": "matrix", "result": series}
    assert isinstance(value, Vector)
    if result.kind == "vector":
        rows = [(lab, float(v[0])) for lab, v, m in zip(value.labels, value.values, value.mask,
                                                        strict=True) if m[0]]
        if value.sort:
            # NaN last either way, as Prometheus
            if value.sort == "desc":
                rows.sort(key=lambda r: (r[1] == r[1], r[1]), reverse=True)
            else:
                rows.sort(key=lambda r: (r[1] != r[1], r[1]))
        t = format_timestamp(int(times[0]))
        return {"resultType": "vector", "result": [
            {"metric": lab.to_dict(), "value": [t, format_value(v)]} for lab, v in rows]}
    order = sorted(range(len(value.labels)), key=lambda i: value.labels[i])
    series = []
    for i in order:
        m = value.mask[i]
        if not m.any():
            continue
        series.append({"metric": value.labels[i].to_dict(),
                       "values": _points(times[m], value.values[i][m])})
    return {"resultType": "matrix", "result": series}
