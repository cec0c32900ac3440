"""A checkpoint encodes without the store's lock: writers and readers go on meanwhile."""

import threading

import numpy as np

from watchkeeper.tsdb import checkpoint
from watchkeeper.tsdb.matchers import Matcher

T0 = 1_700_000_000_000


def _paused_encode(monkeypatch):
    """Make the next checkpoint wait inside its encoding step until released."""
    inside, go = threading.Event(), threading.Event()
    real = checkpoint.encode

    def encode(snap):
        inside.set()
        assert go.wait(10)
        return real(snap)

    monkeypatch.setattr(checkpoint, "encode", encode)
    return inside, go


def _flush_in_background(store):
    thread = threading.Thread(target=store.flush)
    thread.start()
    return thread


def test_appends_and_reads_go_on_during_a_checkpoint_and_each_sample_stays_once(
        tmp_path, open_store, monkeypatch):
    store = open_store(tmp_path / "d")
    ts = T0 + np.arange(100, dtype=np.int64) * 1000
    for k in range(3):
        store.append_array({"__name__": "m", "k": str(k)}, ts, np.arange(100.0) + k)
    inside, go = _paused_encode(monkeypatch)
    flushing = _flush_in_background(store)
    assert inside.wait(10)
    # the checkpoint is encoding: the store answers and accepts at once
    for k in range(3):
        store.append({"__name__": "m", "k": str(k)}, T0 + 100_000, 100.0 + k)
    store.append({"__name__": "new"}, T0, 7.0)
    store.commit()
    during = {d.labels.get("k"): d.values.tolist()
              for d in store.select([Matcher("__name__", "=", "m")])}
    go.set()
    flushing.join(10)
    assert not flushing.is_alive()
    after = {d.labels.get("k"): d.values.tolist()
             for d in store.select([Matcher("__name__", "=", "m")])}
    expected = {str(k): [float(i + k) for i in range(101)] for k in range(3)}
    assert during == after == expected
    assert store.stats()["head_samples"] == 4  # only what came in during the checkpoint
    store.close()
    again = open_store(tmp_path / "d")
    assert {d.labels.get("k"): d.values.tolist()
            for d in again.select([Matcher("__name__", "=", "m")])} == expected
    (new,) = again.select([Matcher("__name__", "=", "new")])
    assert new.values.tolist() == [7.0]


def test_a_deletion_during_a_checkpoint_is_not_undone_by_it(tmp_path, open_store, monkeypatch):
    store = open_store(tmp_path / "d")
    ts = T0 + np.arange(50, dtype=np.int64) * 1000
    store.append_array({"__name__": "m", "k": "gone"}, ts, np.arange(50.0))
    store.append_array({"__name__": "m", "k": "kept"}, ts, np.arange(50.0))
    inside, go = _paused_encode(monkeypatch)
    flushing = _flush_in_background(store)
    assert inside.wait(10)
    assert store.delete_series([Matcher("k", "=", "gone")]) == 1
    go.set()
    flushing.join(10)
    assert [d.labels.get("k") for d in store.select([])] == ["kept"]
    store.close()
    again = open_store(tmp_path / "d")
    assert [d.labels.get("k") for d in again.select([])] == ["kept"]
    (kept,) = again.select([])
    assert kept.values.tolist() == list(np.arange(50.0))


def test_closing_stops_maintenance_between_batches_and_loses_nothing(
        tmp_path, open_store, monkeypatch):
    from watchkeeper.tsdb import compaction

    day = compaction.DAY_MS
    store = open_store(tmp_path / "d")
    first_day = (T0 // day) * day
    for part in range(2):  # two chunks per series in a closed day: 500 series to merge
        for k in range(500):
            ts = first_day + part * 3_600_000 + np.arange(10, dtype=np.int64) * 1000
            store.append_array({"__name__": "m", "k": str(k)}, ts, np.arange(10.0) + part)
        store.flush()
    store.append({"__name__": "now"}, first_day + 2 * day, 1.0)  # the day above is closed
    merges = []
    real_merge = compaction._merge

    def merge(parts):
        if not merges:
            store._stop.set()  # what close() does first, arriving mid-maintenance
        merges.append(1)
        return real_merge(parts)

    monkeypatch.setattr(compaction, "_merge", merge)
    assert store.maintain() == {"interrupted": 1}
    assert len(merges) == 200  # the batch under way finished; no other began
    store.close()
    again = open_store(tmp_path / "d")
    got = {d.labels.get("k"): d.values.tolist()
           for d in again.select([Matcher("__name__", "=", "m")])}
    assert got == {str(k): list(np.arange(10.0)) + list(np.arange(10.0) + 1) for k in range(500)}
