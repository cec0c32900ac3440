"""The read caches' memory follows what is read now, not the largest burst ever read."""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from watchkeeper.tsdb import chunk_cache, rollup_cache
from watchkeeper.tsdb.idle_cache import IdleCache
from watchkeeper.tsdb.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cache(budget: int = 1 << 30, idle_s: float = 300.0) -> tuple[IdleCache, Clock]:
    clock = Clock()
    return IdleCache(budget, len, idle_s, clock), clock


def test_an_entry_read_regularly_stays_and_an_unread_one_goes_within_the_idle_time():
    c, clock = cache()
    c.put("read", "x" * 10)
    c.put("unread", "y" * 20)
    for _ in range(20):
        clock.now += 100
        assert c.get("read") == "x" * 10
    assert c.get("unread") is None and c.used == 10 and len(c) == 1


def test_a_server_nobody_queries_keeps_nothing():
    c, clock = cache()
    c.put_many([(i, "v" * i) for i in range(1, 50)])
    clock.now += 300
    c.expire()
    assert len(c) == 0 and c.used == 0


def test_over_budget_the_oldest_go_first():
    c, clock = cache(budget=30)
    for key in "abcd":
        c.put(key, "0123456789")
        clock.now += 1
    assert list(c) == ["b", "c", "d"] and c.used == 30
    clock.now += 150  # a rotation: b, c, d become old; reading c makes it young again
    assert c.get("c") is not None
    c.put("e", "0123456789")
    assert list(c) == ["d", "c", "e"]


@settings(max_examples=200, deadline=None)
@example([("put", 1, 1), ("tick", 0, 51), ("tick", 0, 49), ("get", 1, 1)])  # a late rotation
@given(st.lists(st.tuples(st.sampled_from(["get", "put", "pop", "tick"]),
                          st.integers(0, 6), st.integers(1, 200)), max_size=80))
def test_what_is_kept_follows_the_reads(ops):
    """Against a model of last reads: the byte count is exact, an entry read within
    idle/2 is there, one unread for idle is not."""
    idle = 100.0
    c, clock = cache(idle_s=idle)
    model: dict[int, tuple[str, float]] = {}  # key -> (value, last read or write)
    for op, key, n in ops:
        if op == "tick":
            clock.now += n
        elif op == "put":
            c.put(key, "v" * n)
            model[key] = ("v" * n, clock.now)
        elif op == "pop":
            c.pop(key)
            model.pop(key, None)
        else:
            got = c.get(key, recent=bool(n % 2))
            if key in model and clock.now - model[key][1] < idle / 2:
                assert got == model[key][0]
            if key in model and clock.now - model[key][1] >= idle:
                assert got is None
            if got is not None:
                model[key] = (got, clock.now)
            else:
                model.pop(key, None)
        c.expire()
        held = {**c.old, **c.young}
        assert c.used == sum(map(len, held.values())) and len(held) == len(c)
        assert held.keys() <= model.keys()


def test_the_store_forgets_decoded_chunks_and_blocks_nobody_reads(tmp_path):
    day = 86_400_000
    with Store.open(tmp_path, background=False) as store:
        ts = np.arange(0, 2 * day, 15_000, dtype=np.int64)
        for i in range(3):
            store.append_array({"__name__": "m", "i": str(i)}, ts, np.ones(len(ts)))
        store.maintain()
        for _ in store.select_blocks([]):
            pass
        list(store.select_rollup([], 0, day, 3_600_000))
        chunks = chunk_cache.cache_for(store.db, store.db.conn)
        blocks = rollup_cache.cache_for(store.db, store.db.conn)
        assert chunks.used > 0 and blocks.used > 0
        clock = Clock()
        clock.now = chunks.chunks.rotated_at + 301
        chunks.chunks.clock = blocks.blocks.clock = clock
        store.maintain()  # a server runs it every minute, queried or not
        assert chunk_cache.cached_bytes(store.db) == 0
        assert rollup_cache.cached_bytes(store.db) == 0
