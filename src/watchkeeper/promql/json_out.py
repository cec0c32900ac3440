"""A query's answer as the JSON bytes of Prometheus's response, written straight from arrays.

Why: a day of 100 series at 60 s steps is 140,000 points; building a dict per series and
a list per point, then encoding them, cost six times the evaluation. Here each distinct
timestamp is formatted once, values are formatted a whole array at a time (integers
through one int conversion, the rare exponent cases one by one) and the text is joined
once. The bytes are exactly ``json.dumps`` of ``result_to_api``'s answer with the
server's separators (a test compares them).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from types import SimpleNamespace

import numpy as np

from watchkeeper.promql.formatting import format_value, result_to_api
from watchkeeper.promql.values import Vector
from watchkeeper.tsdb.labels import Labels

# repr() writes an exponent below 1e-4 and from 1e16 on; Go's 'f' format never does:
# values there go through format_value one by one (a margin keeps rounding out of it)
_SMALL = 1.0001e-4
_BIG = 1e16


def dumps(data: object) -> str:
    """json.dumps with the settings of the server's JSON responses."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def format_array(values: np.ndarray) -> np.ndarray:
    """format_value of every element, as an object array of str."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    out = np.empty(values.size, dtype=object)
    if not values.size:
        return out
    size = np.abs(values)
    with np.errstate(invalid="ignore"):
        plain = size < _BIG  # False for NaN and the infinities
        odd = ~plain | ((size < _SMALL) & (values != 0))
        integral = plain & (values == np.trunc(values))
    if integral.any():
        out[integral] = list(map(str, values[integral].astype(np.int64).tolist()))
        negative_zero = integral & (values == 0) & np.signbit(values)
        if negative_zero.any():
            out[negative_zero] = "-0"
    rest = ~integral & ~odd
    if rest.any():
        out[rest] = list(map(float.__repr__, values[rest].tolist()))
    if odd.any():
        at = np.flatnonzero(odd)
        out[at] = [format_value(v) for v in values[at].tolist()]
    return out


def _timestamps(times_ms: np.ndarray) -> list[str]:
    """format_timestamp's JSON text (ints as str, floats as repr) of each time."""
    return [str(t // 1000) if t % 1000 == 0 else repr(t / 1000) for t in times_ms.tolist()]


_LABELS_TEXT: dict[Labels, str] = {}  # a dashboard asks for the same series again and again
_LABELS_TEXT_MAX = 200_000


def labels_json(labels: Labels) -> str:
    """``{"name":"value",...}`` as json.dumps writes labels.to_dict()."""
    text = _LABELS_TEXT.get(labels)
    if text is None:
        text = "{" + ",".join([f"{encode_basestring(k)}:{encode_basestring(v)}"
                               for k, v in labels]) + "}"
        if len(_LABELS_TEXT) >= _LABELS_TEXT_MAX:
            _LABELS_TEXT.clear()
        _LABELS_TEXT[labels] = text
    return text


def _matrix(vec: Vector, times: np.ndarray) -> str:
    present = vec.mask.any(axis=1)
    order = sorted(np.flatnonzero(present).tolist(), key=lambda i: vec.labels[i])
    if not order:
        return '{"resultType":"matrix","result":[]}'
    mask = vec.mask[order]
    values = format_array(vec.values[order][mask])
    step_of = np.nonzero(mask)[1]
    stamps = _timestamps(times)
    # a series' points are its values interleaved with what comes before each ('"],[t,"',
    # or '[t,"' for its first) and joined once: no string made per point
    between = np.array(['"],[' + t + ',"' for t in stamps], dtype=object)[step_of]
    ends = np.cumsum(mask.sum(axis=1))
    starts = ends - mask.sum(axis=1)
    between[starts] = ["[" + stamps[k] + ',"' for k in step_of[starts].tolist()]
    pieces = np.empty(2 * len(values), dtype=object)
    pieces[0::2] = between
    pieces[1::2] = values
    text = pieces.tolist()
    parts = [
        '{"metric":' + labels_json(vec.labels[row]) + ',"values":['
        + "".join(text[2 * start:2 * stop]) + '"]]}'
        for row, start, stop in zip(order, starts.tolist(), ends.tolist(), strict=True)]
    return '{"resultType":"matrix","result":[' + ",".join(parts) + "]}"


def _vector(vec: Vector, times: np.ndarray) -> str:
    if vec.sort:  # the sorting rules live in one place
        return dumps(result_to_api(SimpleNamespace(kind="vector", value=vec, times=times)))
    rows = np.flatnonzero(vec.mask[:, 0]).tolist()
    values = format_array(vec.values[rows, 0]).tolist()
    head = ',"value":[' + _timestamps(times[:1])[0] + ',"'
    parts = ['{"metric":' + labels_json(vec.labels[r]) + head + v + '"]}'
             for r, v in zip(rows, values, strict=True)]
    return '{"resultType":"vector","result":[' + ",".join(parts) + "]}"


def result_json(result) -> bytes:  # type: ignore[no-untyped-def]
    """The whole success body (``{"status":"success","data":...}``) for an engine Result."""
    value = result.value
    if isinstance(value, Vector):
        text = (_matrix(value, result.times) if result.kind == "matrix"
                else _vector(value, result.times))
    else:
        text = dumps(result_to_api(result))
    return ('{"status":"success","data":' + text + "}").encode("utf-8")


__all__ = ["format_array", "labels_json", "result_json"]
