"""The remote-write decoder: what Prometheus sends decodes; anything else is a clean error."""

from __future__ import annotations

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.server.remote_write import (
    DecodeError,
    decode_snappy_write_request,
    decode_write_request,
    encode_write_request,
)

label_values = st.text(min_size=0, max_size=20)
samples = st.lists(st.tuples(
    st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), label_values, max_size=4),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=False)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(samples)
def test_round_trip(items) -> None:
    items = [({"__name__": "m", **labels}, ts, v) for labels, ts, v in items]
    body = bytes(cramjam.snappy.compress_raw(encode_write_request(items)))
    assert decode_snappy_write_request(body) == items


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    try:
        decode_write_request(data)
    except DecodeError:
        pass


def test_series_without_a_name_and_bad_snappy_are_refused() -> None:
    with pytest.raises(DecodeError, match="__name__"):
        decode_write_request(encode_write_request([({"a": "b"}, 1, 1.0)]))
    with pytest.raises(DecodeError, match="snappy"):
        decode_snappy_write_request(b"\xff\xff\xff\xff")
