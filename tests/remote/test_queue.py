"""The on-disk queue: store order, split records, resume from the acknowledged position."""

import numpy as np

from watchkeeper.remote.queue import QueueLog
from watchkeeper.tsdb import Store


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
