"""Prometheus remote write 1.0 bodies: a protobuf ``WriteRequest``, block-snappy compressed.

Hand-written (the message has three levels and two scalar types), so no protobuf runtime
is needed. A series' label block is encoded once and reused for every batch it appears in.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

_DOUBLE = struct.Struct("<d")
_SAMPLE_VALUE_TAG = b"\x09"  # field 1, wire type 1 (fixed64)
_SAMPLE_TS_TAG = b"\x10"  # field 2, wire type 0 (varint)


def varint(n: int) -> bytes:
    """Unsigned LEB128 of ``n`` (negative numbers as their 64-bit two's complement)."""
    n &= (1 << 64) - 1
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def encode_labels(labels: Iterable[tuple[str, str]]) -> bytes:
    """The ``repeated Label labels = 1`` part of one ``TimeSeries``, sorted by name as the
    spec requires."""
    return b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode()))
                    for k, v in sorted(labels))


def encode_series(label_block: bytes, ts: Sequence[int], vals: Sequence[float]) -> bytes:
    """One ``TimeSeries`` field of a ``WriteRequest``: its labels and samples in order."""
    parts = [label_block]
    for t, v in zip(ts, vals, strict=True):
        sample = _SAMPLE_VALUE_TAG + _DOUBLE.pack(v) + _SAMPLE_TS_TAG + varint(t)
        parts.append(b"\x12" + varint(len(sample)) + sample)  # field 2 (Sample)
    return _field(1, b"".join(parts))


def varint_size(ts: np.ndarray) -> int:
    """Bytes of every timestamp's varint when they all need the same number, else 0."""
    if not ts.size or int(ts.min()) <= 0:
        return 0
    lo, hi = (int(ts.min()).bit_length() + 6) // 7, (int(ts.max()).bit_length() + 6) // 7
    return lo if lo == hi else 0


def series_header(label_block: bytes, ts_size: int) -> bytes:
    """What precedes one sample in a ``TimeSeries`` of one sample (see ``encode_one_each``)."""
    return b"\x0a" + varint(len(label_block) + 12 + ts_size) + label_block


def encode_one_each(headers: Sequence[bytes], ts: np.ndarray, vals: np.ndarray,
                    ts_size: int) -> bytes:
    """A ``WriteRequest`` with one ``TimeSeries`` per sample, as Prometheus sends them:
    ``headers[i]`` (from ``series_header``) then sample i. Every timestamp's varint must
    take ``ts_size`` bytes.

    Built with a few numpy operations over the whole batch (headers joined once, then
    headers and samples scattered into place), not a Python step per sample: the sender's
    threads then hold the GIL briefly, and the scrapes on the event loop keep their time."""
    n, k = ts.size, 12 + ts_size
    if not n:
        return b""
    rec = np.empty((n, k), dtype=np.uint8)
    rec[:, 0] = 0x12  # TimeSeries.samples
    rec[:, 1] = 10 + ts_size
    rec[:, 2] = 0x09  # Sample.value, fixed64
    rec[:, 3:11] = np.ascontiguousarray(vals, dtype="<f8").view(np.uint8).reshape(n, 8)
    rec[:, 11] = 0x10  # Sample.timestamp, varint
    u = ts.astype(np.uint64)
    for j in range(ts_size):
        byte = (u >> np.uint64(7 * j)) & np.uint64(0x7F)
        if j < ts_size - 1:
            byte |= np.uint64(0x80)
        rec[:, 12 + j] = byte
    lens = np.fromiter(map(len, headers), np.int64, n)
    step = lens + k
    out = np.empty(int(step.sum()), dtype=np.uint8)
    at = (np.cumsum(step) - k)[:, None] + np.arange(k)  # where each sample's bytes go
    is_header = np.ones(out.size, dtype=bool)
    is_header[at] = False
    out[at] = rec
    out[is_header] = np.frombuffer(b"".join(headers), dtype=np.uint8)
    return out.tobytes()


def encode_request(series: Mapping[bytes, tuple[list[int], list[float]]]) -> bytes:
    """A ``WriteRequest`` from label blocks (see ``encode_labels``) to their samples."""
    return b"".join(encode_series(block, ts, vals) for block, (ts, vals) in series.items())


# prompb.MetricMetadata.MetricType
METRIC_TYPES = {"unknown": 0, "counter": 1, "gauge": 2, "histogram": 3, "gaugehistogram": 4,
                "summary": 5, "info": 6, "stateset": 7}


def encode_metadata(items: Iterable[tuple[str, str, str, str]]) -> bytes:
    """A ``WriteRequest`` of ``metadata`` only (name, type, help, unit), as Prometheus sends
    it beside the samples."""
    out = []
    for name, typ, help_text, unit in items:
        body = b"\x08" + varint(METRIC_TYPES.get(typ, 0)) + _field(2, name.encode())
        if help_text:
            body += _field(4, help_text.encode())
        if unit:
            body += _field(5, unit.encode())
        out.append(_field(3, body))
    return b"".join(out)


def snappy(body: bytes) -> bytes:
    """Block (not framed) snappy, as remote write sends it."""
    import cramjam

    return bytes(cramjam.snappy.compress_raw(body))


__all__ = ["METRIC_TYPES", "encode_labels", "encode_metadata", "encode_one_each",
           "encode_request", "encode_series", "series_header", "snappy", "varint",
           "varint_size"]
