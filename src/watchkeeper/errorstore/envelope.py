"""Sentry's ingest formats: envelopes (``/api/{project}/envelope/``) and the legacy
``/store/`` body, decompressed within a cap, parsed into event dicts.

An envelope is a JSON header line, then items: a JSON item header line and a payload of
``length`` bytes (or up to the next newline when no length is given). Items of type
``event`` are errors; every other type (transactions, sessions, client reports,
attachments, check-ins, logs) is accepted and skipped. Anything that does not parse raises
:class:`EnvelopeError` with the reason and where, for a 400.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

#: Largest body accepted after decompression (a zip bomb stops here, not in memory).
MAX_DECOMPRESSED = 20 * 1024 * 1024
MAX_ITEMS = 1000
EVENT_TYPES = frozenset({"event"})


class EnvelopeError(ValueError):
    """A body that is not a valid envelope or event; the message says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decompress(body: bytes, encoding: str, limit: int = MAX_DECOMPRESSED) -> bytes:
    """The body under ``Content-Encoding`` (identity, gzip, deflate, br), never more than
    ``limit`` bytes out."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        if len(body) > limit:
            raise EnvelopeError(f"body over {limit} bytes", 413)
        return body
    if encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        if encoding == "deflate" and body[:1] and (body[0] & 0x0F) != 8:
            wbits = -zlib.MAX_WBITS  # raw deflate, as some clients send it
        try:
            inflater = zlib.decompressobj(wbits)
            out = inflater.decompress(body, limit + 1)
        except zlib.error as e:
            raise EnvelopeError(f"body is not valid {encoding}: {e}") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise EnvelopeError(f"decompressed body over {limit} bytes", 413)
        if not inflater.eof:
            raise EnvelopeError(f"{encoding} body is truncated")
        return out
    if encoding == "br":
        try:
            import brotli  # type: ignore[import-not-found]
        except ImportError:
            raise EnvelopeError("brotli bodies need the brotli package; send gzip",
                                415) from None
        try:
            inflater = brotli.Decompressor()
            out = inflater.process(body, output_buffer_limit=limit + 1)
        except TypeError:  # older brotli without output_buffer_limit
            out = brotli.decompress(body)
        except brotli.error as e:
            raise EnvelopeError(f"body is not valid br: {e}") from None
        if len(out) > limit:
            raise EnvelopeError(f"decompressed body over {limit} bytes", 413)
        return out
    raise EnvelopeError(f"unsupported Content-Encoding {encoding!r}", 415)


def _json_line(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise EnvelopeError(f"{what} is not JSON: {str(e)[:200]}") from None
    if not isinstance(value, dict):
        raise EnvelopeError(f"{what} is not a JSON object")
    return value


def parse_envelope(body: bytes) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """(envelope header, error events, items skipped) of an envelope body."""
    if not body.strip():
        raise EnvelopeError("empty envelope")
    nl = body.find(b"\n")
    head, pos = (body, len(body)) if nl < 0 else (body[:nl], nl + 1)
    header = _json_line(head, "envelope header")
    events: list[dict[str, Any]] = []
    skipped = 0
    n = 0
    while pos < len(body):
        if body[pos:].strip() == b"":
            break
        n += 1
        if n > MAX_ITEMS:
            raise EnvelopeError(f"more than {MAX_ITEMS} items")
        nl = body.find(b"\n", pos)
        line = body[pos:] if nl < 0 else body[pos:nl]
        item = _json_line(line, f"item {n} header")
        pos = len(body) if nl < 0 else nl + 1
        length = item.get("length")
        if length is not None:
            if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                raise EnvelopeError(f"item {n}: length must be a non-negative integer")
            if pos + length > len(body):
                raise EnvelopeError(f"item {n}: length {length} runs past the end of the "
                                    f"body ({len(body) - pos} bytes left)")
            payload = body[pos:pos + length]
            pos += length
            if pos < len(body) and body[pos:pos + 1] == b"\n":
                pos += 1
        else:
            nl = body.find(b"\n", pos)
            payload = body[pos:] if nl < 0 else body[pos:nl]
            pos = len(body) if nl < 0 else nl + 1
        kind = item.get("type")
        if not isinstance(kind, str):
            raise EnvelopeError(f"item {n} header has no type")
        if kind in EVENT_TYPES:
            events.append(_json_line(payload, f"item {n} ({kind}) payload"))
        else:
            skipped += 1
    return header, events, skipped


def parse_store(body: bytes) -> dict[str, Any]:
    """The legacy ``/store/`` body: one event as JSON."""
    return _json_line(body, "event")


def sentry_auth(headers: dict[bytes, bytes], query: str) -> dict[str, str]:
    """The ``sentry_*`` parameters (``sentry_key``, ``sentry_secret``, ...) of
    ``X-Sentry-Auth``, ``Authorization: Sentry ...`` or the query string."""
    from urllib.parse import parse_qs

    out: dict[str, str] = {}
    for name, values in parse_qs(query).items():
        if name.startswith("sentry_") and values:
            out[name] = values[0]
    for name in (b"authorization", b"x-sentry-auth"):  # the header wins over the query
        raw = headers.get(name, b"").decode("latin-1")
        if raw[:7].lower() == "sentry ":
            for part in raw[7:].split(","):
                key, _, value = part.strip().partition("=")
                if key.strip().startswith("sentry_") and value.strip():
                    out[key.strip()] = value.strip()
    return out


def sentry_key(headers: dict[bytes, bytes], query: str) -> str | None:
    """The DSN's public key, wherever the SDK put it."""
    return sentry_auth(headers, query).get("sentry_key")
