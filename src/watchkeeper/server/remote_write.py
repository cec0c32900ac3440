"""The Prometheus remote-write 1.0 receiver: snappy-compressed protobuf ``WriteRequest``.

The decoder reads only what remote write 1.0 sends (``TimeSeries`` with ``Label`` and
``Sample``) and the metric metadata Prometheus sends beside them; other fields (exemplars,
histograms) are skipped by wire type, so a newer sender is still understood.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from .bodies import DEFAULT_MAX_DECOMPRESSED, BodyError, decompress

Sample = tuple[dict[str, str], int, float]
Metadata = tuple[str, str, str, str]  # family name, type, help, unit
# prompb.MetricMetadata.MetricType
METRIC_TYPES = ("unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary",
                "info", "stateset")


class DecodeError(BodyError):
    """The body is not a snappy-compressed WriteRequest (a 400)."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise DecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError("varint too long")


def _fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of one message: ints, bytes or 8-byte doubles."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > end:
                raise DecodeError("truncated fixed64")
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise DecodeError("truncated length-delimited field")
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            if pos + 4 > end:
                raise DecodeError("truncated fixed32")
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise DecodeError(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _text(raw: object) -> str:
    try:
        return raw.decode("utf-8")  # type: ignore[attr-defined]
    except UnicodeDecodeError:
        raise DecodeError("a label or metadata string is not UTF-8") from None


def _metadata(message: bytes) -> Metadata | None:
    typ, name, help_text, unit = 0, "", "", ""
    for n, w, value in _fields(message):
        if n == 1 and w == 0:
            typ = value  # type: ignore[assignment]
        elif w == 2 and n in (2, 4, 5):
            text = _text(value)
            if n == 2:
                name = text
            elif n == 4:
                help_text = text
            else:
                unit = text
    if not name:
        return None
    kind = METRIC_TYPES[typ] if 0 <= typ < len(METRIC_TYPES) else "unknown"
    return name, kind, help_text, unit


def decode_write_request(body: bytes, metadata: list[Metadata] | None = None) -> list[Sample]:
    """Every sample of an uncompressed ``WriteRequest``; its metric metadata is appended to
    ``metadata`` when given."""
    out: list[Sample] = []
    for number, wire, series in _fields(body):
        if number == 3 and wire == 2 and metadata is not None:
            meta = _metadata(series)  # type: ignore[arg-type]
            if meta is not None:
                metadata.append(meta)
            continue
        if number != 1 or wire != 2:
            continue
        labels: dict[str, str] = {}
        points: list[tuple[int, float]] = []
        for n, w, value in _fields(series):  # type: ignore[arg-type]
            if n == 1 and w == 2:
                name = val = ""
                for ln, lw, lv in _fields(value):  # type: ignore[arg-type]
                    if lw == 2 and ln in (1, 2):
                        if ln == 1:
                            name = _text(lv)
                        else:
                            val = _text(lv)
                if name in labels:
                    raise DecodeError(f"duplicate label name {name[:100]!r} in one series")
                if name:
                    labels[name] = val
            elif n == 2 and w == 2:
                v, ts = 0.0, 0
                for sn, sw, sv in _fields(value):  # type: ignore[arg-type]
                    if sn == 1 and sw == 1:
                        v = struct.unpack("<d", sv)[0]  # type: ignore[arg-type]
                    elif sn == 2 and sw == 0:
                        ts = _signed(sv)  # type: ignore[arg-type]
                points.append((ts, v))
        if "__name__" not in labels:
            raise DecodeError("a time series without __name__")
        out.extend((labels, ts, v) for ts, v in points)
    return out


def decode_snappy_write_request(body: bytes, max_bytes: int = DEFAULT_MAX_DECOMPRESSED,
                                metadata: list[Metadata] | None = None,
                                encoding: str = "snappy") -> list[Sample]:
    """Decompress (block snappy, as remote write sends it) and decode; the declared
    decompressed length is checked against ``max_bytes`` first (``BodyError`` past it)."""
    try:
        raw = decompress(body, encoding, max_bytes)
    except BodyError as e:
        if e.status != 400:
            raise
        raise DecodeError(str(e)) from None
    return decode_write_request(raw, metadata)


__all__ = ["BodyError", "DecodeError", "decode_snappy_write_request", "decode_write_request",
           "encode_write_request"]


def encode_write_request(samples: list[Sample]) -> bytes:
    """A ``WriteRequest`` for tests and benchmarks (one series per sample group)."""
    from watchkeeper.remote.encode import encode_labels, encode_series

    return b"".join(encode_series(encode_labels(labels.items()), [ts], [value])
                    for labels, ts, value in samples)
