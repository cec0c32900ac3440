"""Chunk codec: timestamps as delta-of-delta, values as scaled decimals or XOR, then zstd.

Why: real metrics are regular scrapes (delta-of-delta is all zeros), counters and
gauges written with a few decimals (exact as scaled integers whose deltas are small)
or arbitrary floats (XOR of neighbours leaves mostly zero high bytes). Integers are
zigzagged, cut to the bytes they need and byte-transposed so zstd sees long runs.
Every float round-trips bit-exact, including NaN payloads such as the staleness marker.
Many chunks of a read are decoded at once by ``codec_batch``.
"""

from __future__ import annotations

import functools
import struct
import threading
import zlib

import numpy as np

from watchkeeper.tsdb.errors import CorruptChunkError

try:  # zstd is the tsdb extra; zlib (stdlib) is the fallback and is always decodable
    import zstandard as _zstd
except ImportError:  # pragma: no cover - exercised only without the extra
    _zstd = None

__all__ = ["decode_chunk", "decode_floats", "encode_chunk", "encode_floats"]

_VERSION = 1
_COMP_ZLIB, _COMP_ZSTD = 0, 1
_HEADER = struct.Struct("<BBII")  # version, compressor, sample count, crc32 of the body
_MAX_SAMPLES = 1 << 24
_MAX_DECIMALS = 9
_VAL_XOR, _VAL_DELTA, _VAL_DOD = 0, 1, 2
_I64 = struct.Struct("<q")
_U32 = struct.Struct("<I")
_I64_AT = _I64.unpack_from
_U32_AT = _U32.unpack_from
_HEADER_AT = _HEADER.unpack_from
_POW10 = np.array([10.0**p for p in range(_MAX_DECIMALS + 1)])  # as decode_chunk computes them
_ZSTD = threading.local()  # zstd (de)compressors are not thread-safe: one set per thread


def zstd_decompressor() -> object:
    """This thread's zstd decompressor (a shared one crashes the process when two
    threads decode at once)."""
    d = getattr(_ZSTD, "d", None)
    if d is None:
        d = _ZSTD.d = _zstd.ZstdDecompressor()  # type: ignore[union-attr]
    return d


def _compress(raw: bytes, level: int) -> tuple[int, bytes]:
    if _zstd is None:
        return _COMP_ZLIB, zlib.compress(raw, min(level, 9))
    compressors = _ZSTD.__dict__.setdefault("c", {})
    comp = compressors.get(level)
    if comp is None:
        comp = compressors[level] = _zstd.ZstdCompressor(level=level, write_checksum=False)
    return _COMP_ZSTD, comp.compress(raw)


def _decompress(kind: int, body: bytes, limit: int) -> bytes:
    try:
        if kind == _COMP_ZLIB:
            d = zlib.decompressobj()
            raw = d.decompress(body, limit)
            if d.unconsumed_tail:
                raise CorruptChunkError("chunk body is larger than its header says")
            return raw
        if kind == _COMP_ZSTD and _zstd is not None:
            return zstd_decompressor().decompress(body, max_output_size=limit)  # type: ignore[attr-defined]
    except CorruptChunkError:
        raise
    except Exception as e:  # zlib.error, zstd.ZstdError: both mean damaged bytes
        raise CorruptChunkError(f"chunk body does not decompress: {e}") from None
    raise CorruptChunkError(f"unknown chunk compressor {kind}")


def _zigzag(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int64, copy=False)
    return ((x << 1) ^ (x >> 63)).view(np.uint64)


def _unzigzag(u: np.ndarray) -> np.ndarray:
    return ((u >> np.uint64(1)) ^ (np.uint64(0) - (u & np.uint64(1)))).view(np.int64)


def _pack_u64(u: np.ndarray, out: list[bytes]) -> None:
    """Append width byte + byte-transposed low bytes of unsigned 64-bit ints."""
    top = int(u.max()) if u.size else 0
    width = (top.bit_length() + 7) // 8
    out.append(bytes((width,)))
    if width and u.size:
        as_bytes = np.ascontiguousarray(u, dtype="<u8").view(np.uint8).reshape(-1, 8)
        out.append(np.ascontiguousarray(as_bytes[:, :width].T).tobytes())


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.buf):
            raise CorruptChunkError("chunk body ends early")
        piece = self.buf[self.pos : end]
        self.pos = end
        return piece

    def byte(self) -> int:
        return self.take(1)[0]

    def i64(self) -> int:
        return _I64.unpack(self.take(8))[0]

    def u32(self) -> int:
        return _U32.unpack(self.take(4))[0]

    def u64s(self, n: int) -> np.ndarray:
        width = self.byte()
        if width > 8:
            raise CorruptChunkError(f"bad integer width {width}")
        full = np.zeros((n, 8), dtype=np.uint8)
        if width and n:
            full[:, :width] = (
                np.frombuffer(self.take(width * n), dtype=np.uint8).reshape(width, n).T
            )
        return full.view("<u8").reshape(n).astype(np.uint64, copy=False)


def _encode_timestamps(ts: np.ndarray, out: list[bytes]) -> None:
    out.append(_I64.pack(int(ts[0])))
    if ts.size > 1:
        deltas = np.diff(ts)
        out.append(_I64.pack(int(deltas[0])))
        _pack_u64(_zigzag(np.diff(deltas)), out)


def _decode_timestamps(r: _Reader, n: int) -> np.ndarray:
    first = r.i64()
    if n == 1:
        return np.array([first], dtype=np.int64)
    d1 = r.i64()
    if n > 2 and r.pos < len(r.buf) and r.buf[r.pos] == 0:  # every delta-of-delta is 0
        r.pos += 1
        ts = np.arange(n, dtype=np.int64)
        ts *= d1
        ts += first
        return ts
    dod = _unzigzag(r.u64s(n - 2))
    deltas = np.empty(n - 1, dtype=np.int64)
    deltas[0] = d1
    if n > 2:
        deltas[1:] = d1 + np.cumsum(dod, dtype=np.int64)
    ts = np.empty(n, dtype=np.int64)
    ts[0] = first
    ts[1:] = first + np.cumsum(deltas, dtype=np.int64)
    return ts


def decimal_scale(vals: np.ndarray, ok: np.ndarray) -> tuple[int, np.ndarray] | None:
    """Smallest p such that every ok value equals round(v*10^p)/10^p bit-exact."""
    sub = vals[ok]
    if sub.size == 0:
        return 0, np.zeros(vals.size, dtype=np.int64)
    if np.abs(sub).max() >= 2.0**53:
        return None
    for p in range(_MAX_DECIMALS + 1):
        factor = 10.0**p
        scaled = np.rint(sub * factor)
        if np.abs(scaled).max() >= 2.0**53:
            return None
        back = scaled / factor if p else scaled
        if np.array_equal(back.view(np.int64), sub.view(np.int64)):
            ints = np.empty(vals.size, dtype=np.int64)
            ints[ok] = scaled.astype(np.int64)
            if not ok.all():  # exceptions carry the previous integer: deltas stay small
                idx = np.where(ok, np.arange(vals.size), 0)
                np.maximum.accumulate(idx, out=idx)
                ints = ints[idx]
                if not ok[0]:
                    ints[: np.argmax(ok)] = ints[np.argmax(ok)]
            return p, ints
    return None


def _encode_values(vals: np.ndarray, out: list[bytes]) -> None:
    bits = vals.view(np.int64)
    # exceptions: non-finite values and -0.0 (whose sign a scaled integer cannot keep)
    ok = np.isfinite(vals) & (bits != np.int64(-(2**63)))
    n_exc = int(vals.size - np.count_nonzero(ok))
    scaled = decimal_scale(vals, ok) if n_exc * 8 <= vals.size else None
    if scaled is None:
        xored = bits[1:] ^ bits[:-1]
        out.append(bytes((_VAL_XOR,)))
        out.append(_I64.pack(int(bits[0])))
        _pack_u64(xored.view(np.uint64), out)
        return
    p, ints = scaled
    d1 = np.diff(ints)
    d2 = np.diff(d1)
    use_dod = d2.size > 0 and np.abs(d2).max() < np.abs(d1).max()
    out.append(bytes((_VAL_DOD if use_dod else _VAL_DELTA, p)))
    out.append(_I64.pack(int(ints[0])))
    if use_dod:
        out.append(_I64.pack(int(d1[0])))
        _pack_u64(_zigzag(d2), out)
    else:
        _pack_u64(_zigzag(d1), out)
    out.append(_U32.pack(n_exc))
    if n_exc:
        where = np.flatnonzero(~ok)
        _pack_u64(np.diff(where, prepend=0).astype(np.uint64), out)
        out.append(bits[where].astype("<i8").tobytes())


def _decode_values(r: _Reader, n: int) -> np.ndarray:
    mode = r.byte()
    if mode == _VAL_XOR:
        first = r.i64()
        bits = np.empty(n, dtype=np.int64)
        bits[0] = first
        bits[1:] = r.u64s(n - 1).view(np.int64)
        if n > 1:
            np.bitwise_xor.accumulate(bits, out=bits)
        return bits.view(np.float64)
    if mode not in (_VAL_DELTA, _VAL_DOD):
        raise CorruptChunkError(f"unknown value encoding {mode}")
    p = r.byte()
    if p > _MAX_DECIMALS:
        raise CorruptChunkError(f"bad decimal precision {p}")
    ints = np.empty(n, dtype=np.int64)
    ints[0] = r.i64()
    if mode == _VAL_DOD:
        if n < 3:
            raise CorruptChunkError("delta-of-delta values need 3+ samples")
        d1_first = r.i64()
        d1 = np.empty(n - 1, dtype=np.int64)
        d1[0] = d1_first
        d1[1:] = d1_first + np.cumsum(_unzigzag(r.u64s(n - 2)), dtype=np.int64)
    else:
        d1 = _unzigzag(r.u64s(n - 1))
    if n > 1:
        ints[1:] = ints[0] + np.cumsum(d1, dtype=np.int64)
    vals = ints.astype(np.float64)
    if p:
        vals /= 10.0**p
    n_exc = r.u32()
    if n_exc:
        if n_exc > n:
            raise CorruptChunkError("more exceptions than samples")
        where = np.cumsum(r.u64s(n_exc).view(np.int64))
        if where.size and (where.min() < 0 or where.max() >= n):
            raise CorruptChunkError("exception index out of range")
        raw = np.frombuffer(r.take(8 * n_exc), dtype="<i8")
        vals.view(np.int64)[where] = raw
    return vals


def encode_chunk(ts: np.ndarray, vals: np.ndarray, level: int = 3) -> bytes:
    """Encode sorted int64 millisecond timestamps and float64 values into one chunk."""
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    vals = np.ascontiguousarray(vals, dtype=np.float64)
    n = ts.size
    if n == 0 or n != vals.size or n > _MAX_SAMPLES:
        raise ValueError(f"a chunk holds 1..{_MAX_SAMPLES} samples of equal length, got {n}")
    parts: list[bytes] = []
    _encode_timestamps(ts, parts)
    _encode_values(vals, parts)
    kind, body = _compress(b"".join(parts), level)
    return _HEADER.pack(_VERSION, kind, n, _crc(kind, n, body)) + body


def _crc(kind: int, n: int, body: bytes | memoryview) -> int:
    """Checksum of header fields and body: a flipped sample count is caught too."""
    return zlib.crc32(body, _crc_seed(kind, n))


@functools.lru_cache(maxsize=4096)
def _crc_seed(kind: int, n: int) -> int:
    return zlib.crc32(struct.pack("<BBI", _VERSION, kind, n))


def chunk_count(data: bytes) -> int:
    """Number of samples in an encoded chunk, read from its header only."""
    if len(data) < _HEADER.size:
        raise CorruptChunkError("chunk shorter than its header")
    return _HEADER.unpack_from(data)[2]


def _checked_body(data: bytes) -> tuple[bytes, int]:
    """The decompressed body of a chunk and its sample count; CorruptChunkError if the
    header, the checksum or the compression is damaged."""
    if len(data) < _HEADER.size:
        raise CorruptChunkError("chunk shorter than its header")
    version, kind, n, crc = _HEADER_AT(data)
    if version != _VERSION:
        raise CorruptChunkError(f"unknown chunk version {version}")
    if not 0 < n <= _MAX_SAMPLES:
        raise CorruptChunkError(f"bad sample count {n}")
    body = data[_HEADER.size :]
    if _crc(kind, n, body) != crc:
        raise CorruptChunkError("chunk checksum mismatch")
    return _decompress(kind, body, 40 + 34 * n), n


def decode_chunk(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Decode a chunk into (int64 timestamps, float64 values); CorruptChunkError if damaged."""
    return _decode_body(*_checked_body(data))


def _decode_body(raw: bytes, n: int) -> tuple[np.ndarray, np.ndarray]:
    r = _Reader(raw)
    ts = _decode_timestamps(r, n)
    vals = _decode_values(r, n)
    if r.pos != len(raw):
        raise CorruptChunkError("trailing bytes after chunk body")
    return ts, vals


def encode_floats(columns: list[np.ndarray], level: int = 3) -> bytes:
    """Encode equal-length float64 columns (rollup aggregates), each with the value codec."""
    n = columns[0].size if columns else 0
    parts: list[bytes] = [bytes((len(columns),))]
    for col in columns:
        _encode_values(np.ascontiguousarray(col, dtype=np.float64), parts)
    kind, body = _compress(b"".join(parts), level)
    return _HEADER.pack(_VERSION, kind, n, _crc(kind, n, body)) + body


def decode_floats(data: bytes) -> list[np.ndarray]:
    """Inverse of encode_floats."""
    if len(data) < _HEADER.size:
        raise CorruptChunkError("column block shorter than its header")
    version, kind, n, crc = _HEADER.unpack_from(data)
    body = memoryview(data)[_HEADER.size :]
    if version != _VERSION or not 0 < n <= _MAX_SAMPLES or _crc(kind, n, body) != crc:
        raise CorruptChunkError("column block header or checksum mismatch")
    r = _Reader(_decompress(kind, bytes(body), 8 + 256 * 18 * n))
    return [_decode_values(r, n) for _ in range(r.byte())]
