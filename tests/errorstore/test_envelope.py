"""Sentry envelopes and store bodies: parsed, decompressed within a cap, or refused with
the reason (never an exception other than EnvelopeError)."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.errorstore.envelope import (
    EnvelopeError,
    decompress,
    parse_envelope,
    parse_store,
    sentry_key,
)


def _envelope(*items: tuple[dict, bytes], with_length: bool = True) -> bytes:
    lines = [json.dumps({"event_id": "abc", "dsn": "http://k@h/1"}).encode()]
    for header, payload in items:
        if with_length:
            header = {**header, "length": len(payload)}
        lines += [json.dumps(header).encode(), payload]
    return b"\n".join(lines) + b"\n"


EVENT = json.dumps({"event_id": "abc", "message": "boom"}).encode()


def test_events_are_parsed_and_other_items_skipped() -> None:
    body = _envelope(({"type": "event"}, EVENT), ({"type": "session"}, b'{"sid":"1"}'),
                     ({"type": "attachment"}, b"binary\nwith newline"),
                     ({"type": "client_report"}, b"{}"))
    header, events, skipped = parse_envelope(body)
    assert header["event_id"] == "abc"
    assert events == [{"event_id": "abc", "message": "boom"}]
    assert skipped == 3


def test_items_without_length_end_at_the_newline() -> None:
    body = _envelope(({"type": "event"}, EVENT), ({"type": "session"}, b"{}"),
                     with_length=False)
    assert len(parse_envelope(body)[1]) == 1


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "empty envelope"),
    (b"not json\n", "envelope header is not JSON"),
    (b'{}\n{"type":"event","length":500}\n{}', "runs past the end"),
    (b'{}\n{"length":2}\n{}', "has no type"),
    (b'{}\n{"type":"event"}\n[1]', "is not a JSON object"),
    (b'{}\n{"type":"event","length":-1}\n', "non-negative"),
])
def test_malformed_envelopes_say_why(body: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        parse_envelope(body)


def test_gzip_and_deflate_bodies_and_the_cap() -> None:
    assert decompress(gzip.compress(b"x" * 100), "gzip") == b"x" * 100
    assert decompress(zlib.compress(b"y" * 100), "deflate") == b"y" * 100
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(EnvelopeError, match="over 1000 bytes") as info:
        decompress(bomb, "gzip", limit=1000)
    assert info.value.status == 413
    with pytest.raises(EnvelopeError, match="not valid gzip"):
        decompress(b"plain", "gzip")
    with pytest.raises(EnvelopeError, match="Content-Encoding") as info:
        decompress(b"x", "zstd")
    assert info.value.status == 415


def test_the_dsn_key_is_read_from_header_or_query() -> None:
    header = {b"x-sentry-auth": b"Sentry sentry_version=7, sentry_key=abc, sentry_client=x"}
    assert sentry_key(header, "") == "abc"
    assert sentry_key({}, "sentry_key=def&sentry_version=7") == "def"
    assert sentry_key({b"authorization": b"Bearer x"}, "") is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.builds(
    lambda parts: b"\n".join(parts),
    st.lists(st.sampled_from([b"{}", b'{"type":"event"}', b'{"type":"event","length":3}',
                              b'{"type":"session"}', b"{", b'{"length":"x","type":"a"}',
                              b"[]", b"", b'{"message":"m"}', b"\xff"]), max_size=8)))
def test_any_body_parses_or_raises_envelope_error(body: bytes) -> None:
    for parse in (parse_envelope, parse_store):
        try:
            parse(body)
        except EnvelopeError:
            pass


def test_a_dsn_secret_is_read_beside_the_key() -> None:
    from watchkeeper.errorstore.envelope import sentry_auth

    header = {b"x-sentry-auth": b"Sentry sentry_key=abc,sentry_secret=s3, sentry_version=7"}
    assert sentry_auth(header, "sentry_key=query") == {
        "sentry_key": "abc", "sentry_secret": "s3", "sentry_version": "7"}
