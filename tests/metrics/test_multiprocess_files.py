"""The file readers take any bytes: they keep what is intact and never raise."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.metrics.multiprocess.aggregate import Aggregate, decode, encode
from watchkeeper.metrics.multiprocess.files import (
    HEADER_SIZE,
    VALUE_PAIR,
    ValueFile,
    encode_key,
    parse_file_name,
    read_entries,
    read_file,
)
from watchkeeper.metrics.multiprocess.merge import parse_key


def test_file_names_carry_type_mode_and_pid():
    assert parse_file_name("counter_12.wkm") == ("counter", "", "12")
    assert parse_file_name("gauge_livesum_12.wkm") == ("gauge", "livesum", "12")
    assert parse_file_name("counter_12.db") is None
    assert parse_file_name("aggregate.wka") is None
    assert parse_file_name("gauge_12.wkm") is None


def test_written_entries_read_back(tmp_path):
    vf = ValueFile(str(tmp_path / "counter_1.wkm"))
    keys = [encode_key("m", "m_total", ["a"], [f"v{i}"], "Help ✓.") for i in range(3)]
    for n, key in enumerate(keys):
        mapping, offset = vf.add(key)
        mapping[offset : offset + 16] = VALUE_PAIR.pack(n + 0.5, 100.0 + n)
    parsed = read_file(str(tmp_path / "counter_1.wkm"))
    assert parsed is not None and not parsed.damaged
    assert [(k, v, ts) for k, v, ts, _ in parsed.entries] == [
        (keys[0], 0.5, 100.0), (keys[1], 1.5, 101.0), (keys[2], 2.5, 102.0)]
    assert parsed.file_id == vf.file_id
    assert parse_key(keys[0]) == ("m", "m_total", (("a", "v0"),), "Help ✓.")


def test_reopened_file_keeps_its_entries_and_id(tmp_path):
    path = str(tmp_path / "counter_1.wkm")
    first = ValueFile(path)
    key = encode_key("m", "m_total", [], [], "")
    first.add(key)
    again = ValueFile(path)
    assert again.file_id == first.file_id
    assert again.add(key)[1] == first.add(key)[1]


def test_missing_file_reads_as_none(tmp_path):
    assert read_file(str(tmp_path / "counter_1.wkm")) is None


def _valid_file(tmp_path) -> bytes:
    path = str(tmp_path / "counter_7.wkm")
    if not os.path.exists(path):
        vf = ValueFile(path)
        for i in range(5):
            vf.add(encode_key("jobs", "jobs_total", ["i"], [str(i)], "Jobs."))
    with open(path, "rb") as f:
        return f.read()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(data):
    parsed = read_entries(data)
    assert parsed.damaged or parsed.entries == []
    assert decode(data).damaged or data.startswith(b"WKAG")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_corrupted_valid_file_keeps_the_intact_entries(tmp_path_factory, data):
    original = bytearray(_valid_file(tmp_path_factory.mktemp("f")))
    used = int.from_bytes(original[8:16], "little")
    position = data.draw(st.integers(HEADER_SIZE, used - 1))
    original[position] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(position, len(original)))
    parsed = read_entries(bytes(original[:cut]))
    for key, *_ in parsed.entries:
        decoded = parse_key(key)
        assert decoded is not None and decoded[0] == "jobs"
    assert len(parsed.entries) <= 5


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.integers(0, 10_000))
def test_corrupted_aggregate_is_flagged_not_raised(noise, where):
    agg = Aggregate(absorbed={b"\x01" * 8: 1.0}, families={"jobs": ("counter", "", "J.")})
    agg.samples[("jobs", "jobs_total", (("i", "1"),))] = [3.0, 0.0]
    data = bytearray(encode(agg))
    assert decode(bytes(data)) == agg
    where %= len(data)
    data[where : where + len(noise)] = noise
    result = decode(bytes(data))
    assert result.damaged or result == agg


@given(st.binary(max_size=200))
def test_keys_that_are_not_keys_decode_to_none(raw):
    decoded = parse_key(raw)
    assert decoded is None or isinstance(decoded[0], str)
