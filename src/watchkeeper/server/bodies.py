"""Compressed request bodies under a cap, without ever allocating past it.

A snappy body declares its decompressed length in its first bytes, and a decompressor
allocates that much before writing a byte: a 37-byte body declaring 4 GiB would abort a
process under a memory limit. So the declared length is checked first (snappy, zstd's frame
content size), zstd's window is bounded, and gzip/deflate are inflated in one bounded step.
"""

from __future__ import annotations

import io
import zlib

DEFAULT_MAX_DECOMPRESSED = 32 << 20
ENCODINGS = ("identity", "snappy", "gzip", "x-gzip", "deflate", "zstd")
_ZSTD_MAX_WINDOW = 1 << 23  # what zstd's levels 1-19 use; larger windows are refused


class BodyError(ValueError):
    """A body that cannot be taken: ``status`` is 400 (malformed) or 413/415."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _too_big(what: str, size: int | None, limit: int) -> BodyError:
    told = f"declares {size} bytes" if size is not None else "is over the limit"
    return BodyError(f"{what} body {told} decompressed; the limit is {limit} bytes", 413)


def snappy_declared_length(body: bytes) -> int:
    """The uncompressed length a block-snappy body starts with (a varint of at most
    32 bits)."""
    result = shift = 0
    for pos in range(min(len(body), 5)):
        b = body[pos]
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result
        shift += 7
    raise BodyError("not snappy-compressed: no valid length header")


def _snappy(body: bytes, limit: int) -> bytes:
    import cramjam

    size = snappy_declared_length(body)
    if size > limit:
        raise _too_big("snappy", size, limit)
    try:
        out = bytes(cramjam.snappy.decompress_raw(body))
    except Exception as e:
        raise BodyError(f"not snappy-compressed: {e}") from None
    if len(out) != size:
        raise BodyError("not snappy-compressed: length does not match its header")
    return out


def _inflate(body: bytes, limit: int, wbits: int, what: str) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as e:
        raise BodyError(f"not {what}-compressed: {e}") from None
    if len(out) > limit:
        raise _too_big(what, None, limit)
    if not inflater.eof:
        raise BodyError(f"not {what}-compressed: the stream is truncated")
    return out


def _deflate(body: bytes, limit: int) -> bytes:
    """HTTP's deflate is zlib-wrapped; some clients send it raw, as browsers accept."""
    try:
        return _inflate(body, limit, zlib.MAX_WBITS, "deflate")
    except BodyError as e:
        if e.status != 400:
            raise
        return _inflate(body, limit, -zlib.MAX_WBITS, "deflate")


def _zstd(body: bytes, limit: int) -> bytes:
    import zstandard

    try:
        size = zstandard.frame_content_size(body)
    except zstandard.ZstdError as e:
        raise BodyError(f"not zstd-compressed: {e}") from None
    if size > limit:
        raise _too_big("zstd", size, limit)
    reader = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW).stream_reader(
        io.BytesIO(body), read_across_frames=True)
    try:
        out = reader.read(limit + 1)
    except zstandard.ZstdError as e:
        raise BodyError(f"not zstd-compressed: {e}") from None
    if len(out) > limit:
        raise _too_big("zstd", None, limit)
    return out


def decompress(body: bytes, encoding: str, limit: int = DEFAULT_MAX_DECOMPRESSED) -> bytes:
    """``body`` decoded from its ``Content-Encoding``; raises ``BodyError`` (413 past
    ``limit`` bytes, 415 for an encoding not taken, 400 for a malformed body)."""
    enc = encoding.strip().lower()
    limit = limit or DEFAULT_MAX_DECOMPRESSED
    if enc in ("", "identity"):
        if len(body) > limit:
            raise BodyError(f"body over the limit of {limit} bytes", 413)
        return body
    if enc == "snappy":
        return _snappy(body, limit)
    if enc in ("gzip", "x-gzip"):
        return _inflate(body, limit, zlib.MAX_WBITS | 16, "gzip")
    if enc == "deflate":
        return _deflate(body, limit)
    if enc == "zstd":
        return _zstd(body, limit)
    raise BodyError(f"unsupported Content-Encoding {encoding!r} (taken: "
                    f"{', '.join(ENCODINGS)})", 415)
