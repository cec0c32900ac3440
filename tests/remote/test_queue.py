"""The on-disk queue: store order, split records, resume from the acknowledged position."""

import numpy as np

from watchkeeper.remote.queue import QueueLog, _frames
from watchkeeper.tsdb import Store
from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.wal import decode, encode_series


def open_queue(store, path, **kw):
    return QueueLog(path, lambda sid: store.head.by_id[sid].labels, **kw)


def drain(q, size):
    out = []
    while True:
        batch = q.read(size)
        if not len(batch):
            return out
        out += [(dict(q.labels[i])["s"], t, v)
                for i, t, v in zip(batch.ids, batch.ts, batch.vals, strict=True)]
        q.acknowledge(batch.end)


def test_resumes_after_reopen_and_splits_big_records(tmp_path):
    store = Store.open(tmp_path / "data", background=False)
    q = open_queue(store, tmp_path / "q", segment_bytes=4096)
    store.taps.append(q.tap)
    store.append_array({"__name__": "m", "s": "a"}, np.arange(1000), np.ones(1000))
    for t in range(1000, 1300):
        store.append({"__name__": "m", "s": "b"}, t, 2.0)
        store.commit()
    first = q.read(250)
    assert len(first) == 250 and first.end.skip == 250  # inside the 1000-sample record
    q.acknowledge(first.end)
    q.close()
    store.close()

    store = Store.open(tmp_path / "data", background=False)
    q = open_queue(store, tmp_path / "q", segment_bytes=4096)  # as after a restart
    store.taps.append(q.tap)
    store.append({"__name__": "m", "s": "a"}, 5000, 3.0)
    store.commit()
    rest = drain(q, 97)
    assert [t for s, t, _ in rest if s == "a"] == [*range(250, 1000), 5000]
    assert [t for s, t, _ in rest if s == "b"] == list(range(1000, 1300))
    assert len(list((tmp_path / "q").glob("*.wal"))) <= 2  # sent segments are deleted
    store.close()


def test_every_segment_describes_its_series_and_a_changed_record_is_read_again(tmp_path):
    """Describing a series again copies its record; a reader decodes a series record only
    when it differs from the one it read before for that id."""
    store = Store.open(tmp_path / "data", background=False)
    q = open_queue(store, tmp_path / "q", segment_bytes=2048)
    store.taps.append(q.tap)
    for t in range(300):
        store.append({"__name__": "m", "s": "a"}, t, 1.0)
        store.append({"__name__": "m", "s": "b"}, t, 2.0)
        store.commit()
    segments = sorted((tmp_path / "q").glob("*.wal"))
    assert len(segments) > 3
    for seg in segments:  # each segment reads on its own
        recs = [decode(k, p) for k, p, _ in _frames(seg.read_bytes(), 0)]
        described = {r[1] for r in recs if r[0] == "series"}
        used = {int(i) for r in recs if r[0] == "samples" for i in r[1]}
        assert used <= described
    got = drain(q, 64)
    assert [t for s, t, _ in got if s == "a"] == list(range(300))
    # an id that now names other labels (a store that reused it) is decoded again
    sid = next(iter(q.labels))
    q._learn(encode_series(sid, Labels.of({"__name__": "other"}))[1], 99)
    assert dict(q.labels[sid]) == {"__name__": "other"}
    store.close()


def test_an_id_reused_for_other_labels_ends_the_batch_and_is_reported_once(tmp_path):
    """A store that reused an id after a restart: samples before the new description keep
    the old labels (the batch ends there), the ones after carry the new, and the senders
    are told once to drop what they cached for the id."""
    from watchkeeper.tsdb.wal import encode_samples

    q = QueueLog(tmp_path / "q", lambda sid: None)
    old, new = Labels.of({"__name__": "old"}), Labels.of({"__name__": "new"})
    ids = np.array([7], dtype=np.int64)
    q.tap([encode_series(7, old), encode_samples(ids, np.array([1]), np.array([1.0])),
           encode_series(7, new), encode_samples(ids, np.array([2]), np.array([2.0]))])
    first = q.read(100)
    assert first.ts.tolist() == [1] and dict(q.labels[7]) == {"__name__": "old"}
    assert q.take_changed() == set()
    q.acknowledge(first.end)
    second = q.read(100)
    assert second.ts.tolist() == [2] and dict(q.labels[7]) == {"__name__": "new"}
    assert q.take_changed() == {7} and q.take_changed() == set()


def test_the_sender_sends_a_reused_id_with_its_new_labels(tmp_path):
    from test_retries import Sink, wait_for

    from watchkeeper.config.models import RemoteWriteConfig
    from watchkeeper.remote import RemoteWrite
    from watchkeeper.tsdb.wal import encode_samples

    sink = Sink([])
    store = Store.open(tmp_path / "data", background=False)
    cfg = RemoteWriteConfig(url=sink.url, name="t",
                            queue_config={"batch_send_deadline": 0.01, "min_shards": 1,
                                          "max_shards": 1})
    remote = RemoteWrite(store, [cfg], tmp_path / "remote")
    sender = remote.senders[0]
    remote.start()
    try:
        ids = np.array([7], dtype=np.int64)
        sender.queue.tap([encode_series(7, Labels.of({"__name__": "old"})),
                          encode_samples(ids, np.array([1]), np.array([1.0]))])
        wait_for(lambda: sender.pending == 0)
        sender.queue.tap([encode_series(7, Labels.of({"__name__": "new"})),
                          encode_samples(ids, np.array([2]), np.array([2.0]))])
        wait_for(lambda: sender.pending == 0)
        got = [(s[0]["__name__"], s[1]) for body in sink.bodies for s in body]
        assert got == [("old", 1), ("new", 2)]
    finally:
        remote.stop()
        store.close()
        sink.close()


def test_a_rotation_does_not_decode_live_series_again(tmp_path, monkeypatch):
    """Series still in use keep their labels across a segment rotation: the reader decodes
    each series record once, however many segments describe it again."""
    import watchkeeper.remote.queue as queue_mod

    store = Store.open(tmp_path / "data", background=False)
    q = open_queue(store, tmp_path / "q", segment_bytes=4096)
    store.taps.append(q.tap)
    decoded = []
    real = queue_mod.decode
    monkeypatch.setattr(queue_mod, "decode",
                        lambda kind, payload: decoded.append(kind) or real(kind, payload))
    series = [{"__name__": "m", "s": str(i)} for i in range(20)]
    got = []
    for t in range(200):
        store.append_many((lb, t, float(t)) for lb in series)
        store.commit()
        got += drain(q, 7)  # the reader keeps up, acknowledging in small batches
    assert len(list((tmp_path / "q").glob("*.wal"))) <= 2 and q.wal.segment > 5
    assert decoded.count(1) == len(series)  # REC_SERIES: once per series, not per segment
    assert sorted(got) == sorted((str(i), t, float(t)) for i in range(20) for t in range(200))
    store.close()
