"""Columnar appends (``resolve_many`` + ``append_columns``) store exactly what per-sample
appends (``append_many``) of the same samples store: the same WAL records byte for byte,
the same samples (value bits included), the same refusals, in the full store and the agent
store, across series forgotten in between."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.tsdb import Store
from watchkeeper.tsdb.agent import AgentStore
from watchkeeper.tsdb.columns import PendingSamples
from watchkeeper.tsdb.matchers import parse_selector
from watchkeeper.tsdb.wal import decode, encode_samples

SERIES = [{"__name__": "m", "i": str(i)} for i in range(4)]
STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
VALUES = st.one_of(st.floats(allow_nan=True), st.sampled_from([STALE, -0.0, 1.0]))


def _bits(values) -> list[bytes]:
    return [struct.pack("<d", v) for v in values]


@st.composite
def runs(draw):
    """Series in a writer's order (a series may come twice) and a few batches of them,
    each at one timestamp or one each, some repeating or going back in time; for the agent
    store, a gc before some batches."""
    order = draw(st.lists(st.integers(0, len(SERIES) - 1), min_size=1, max_size=6))
    batches = []
    for _ in range(draw(st.integers(1, 5))):
        values = draw(st.lists(VALUES, min_size=len(order), max_size=len(order)))
        if draw(st.booleans()):
            ts = draw(st.integers(0, 12))
        else:
            ts = draw(st.lists(st.integers(0, 12), min_size=len(order), max_size=len(order)))
        batches.append((ts, values, draw(st.sampled_from([None, None, 0, 5, 100]))))
    return order, batches


def _open(kind: str, path: Path, ooo: int):
    if kind == "agent":
        return AgentStore.open(path)
    return Store.open(path, background=False, ooo_window_ms=ooo)


def _play(kind: str, path: Path, ooo: int, order, batches, columns: bool):
    store = _open(kind, path, ooo)
    records: list[tuple[int, bytes]] = []
    store.taps.append(records.extend)
    labels = [SERIES[i] for i in order]
    handles = None
    kept = []
    for ts, values, gc_before in batches:
        if gc_before is not None and kind == "agent":
            store.gc(gc_before)
        if columns:
            if handles is None:  # resolved once, where the first append would look them up
                handles = store.resolve_many(labels)
            stamps = np.array(ts, dtype=np.int64) if isinstance(ts, list) else ts
            kept.append(store.append_columns(handles, stamps, np.array(values)))
        else:
            each = ts if isinstance(ts, list) else [ts] * len(order)
            kept.append(store.append_many(zip(labels, each, values, strict=True)))
        store.commit()
    stored = None
    if kind == "full":
        stored = [(dict(s.labels), s.timestamps.tolist(), _bits(s.values.tolist()))
                  for s in store.select(parse_selector('{__name__="m"}'))]
    rejected = dict(store.head.rejected)
    store.close()
    return kept, records, stored, rejected


@pytest.mark.parametrize("kind,ooo", [("full", 0), ("full", 6), ("agent", 0)])
@settings(max_examples=150, deadline=None)
@given(run=runs())
def test_columns_store_and_log_what_per_sample_appends_do(kind, ooo, run) -> None:
    order, batches = run
    with tempfile.TemporaryDirectory() as tmp:
        plain = _play(kind, Path(tmp) / "plain", ooo, order, batches, columns=False)
        cols = _play(kind, Path(tmp) / "cols", ooo, order, batches, columns=True)
    assert cols[0] == plain[0]  # kept per batch
    assert cols[1] == plain[1]  # the WAL records, byte for byte
    assert cols[2] == plain[2]  # the samples read back, value bits included
    assert cols[3] == plain[3]  # refusals counted alike


def test_handles_of_series_gc_forgot_find_them_again(tmp_path) -> None:
    store = AgentStore.open(tmp_path)
    got: list[tuple] = []
    store.taps.append(lambda records: got.extend(decode(k, p) for k, p in records))
    handles = store.resolve_many(SERIES)
    assert store.append_columns(handles, 1000, np.arange(4.0)) == 4
    old = handles.ids.tolist()
    assert store.gc(5000) == 4
    assert store.append_columns(handles, 6000, np.arange(4.0)) == 4
    store.commit()
    new = handles.ids.tolist()
    assert not set(old) & set(new)
    described = {r[1]: dict(r[2]) for r in got if r[0] == "series"}
    assert [described[i] for i in new] == SERIES
    assert got[-1][0] == "samples" and got[-1][1].tolist() == new
    store.close()


def test_handles_of_another_store_are_refused(tmp_path) -> None:
    one, two = AgentStore.open(tmp_path / "1"), Store.open(tmp_path / "2", background=False)
    with pytest.raises(ValueError, match="another store"):
        two.append_columns(one.resolve_many(SERIES), 1000, np.zeros(4))
    with pytest.raises(ValueError, match="one value per handle"):
        one.append_columns(one.resolve_many(SERIES), 1000, np.zeros(3))
    with pytest.raises(ValueError, match="out of range"):
        two.append_columns(two.resolve_many(SERIES), 2**60, np.zeros(4))
    one.close()
    two.close()


def test_pending_samples_write_one_record_in_append_order() -> None:
    p = PendingSamples()
    p.ids.append(1)
    p.ts.append(10)
    p.vals.append(1.5)
    p.add_columns(np.array([2, 3]), np.array([11, 11]), np.array([2.5, 3.5]))
    p.ids.append(4)
    p.ts.append(12)
    p.vals.append(4.5)
    assert len(p) == 4
    assert p.take() == encode_samples([1, 2, 3, 4], [10, 11, 11, 12], [1.5, 2.5, 3.5, 4.5])
    assert p.take() is None and len(p) == 0
