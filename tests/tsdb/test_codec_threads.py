"""Chunks encode and decode from many threads at once (queries run on a pool): a zstd
context shared between threads corrupts data or crashes the process."""

from __future__ import annotations

import threading

import numpy as np

from watchkeeper.tsdb.codec import decode_chunk, encode_chunk


def test_concurrent_decoding_gives_every_thread_its_own_answer() -> None:
    rng = np.random.default_rng(7)
    chunks = []
    for i in range(40):
        ts = np.cumsum(rng.integers(1, 30_000, 2_000)).astype(np.int64) + i
        values = rng.normal(size=2_000)
        chunks.append((ts, values, encode_chunk(ts, values)))
    failures: list[str] = []

    def work(offset: int) -> None:
        for n in range(300):
            ts, values, body = chunks[(n + offset) % len(chunks)]
            got_ts, got_values = decode_chunk(body)
            if not (np.array_equal(got_ts, ts) and np.array_equal(got_values, values)):
                failures.append(f"thread {offset}, chunk {n}")
            encode_chunk(ts, values)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures[:5]
