"""The agent-mode store: forwards every accepted sample to its taps and keeps none."""

import numpy as np

from watchkeeper.tsdb.agent import AgentStore
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.wal import decode


def taps_of(store):
    got = []
    store.taps.append(lambda records: got.extend(decode(k, p) for k, p in records))
    return got


def test_forwards_series_and_samples_and_refuses_what_the_store_refuses(tmp_path):
    store = AgentStore.open(tmp_path)
    got = taps_of(store)
    assert store.append({"__name__": "m", "s": "a"}, 1000, 1.0)
    assert store.append({"__name__": "m", "s": "a"}, 2000, 2.0)
    assert not store.append({"__name__": "m", "s": "a"}, 1500, 9.0)  # out of order
    assert not store.append({"__name__": "m", "s": "a"}, 2000, 2.0)  # resend: ignored
    assert not store.append({"__name__": "m", "s": "a"}, 2000, 3.0)  # duplicate
    assert store.append_many([({"__name__": "m", "s": "a"}, 3000, 4.0),
                              ({"__name__": "m", "s": "a"}, 2500, 4.0)]) == 1
    store.commit()
    assert store.append_array({"__name__": "m", "s": "b"}, np.array([5, 6]),
                              np.array([1.0, 2.0])) == 2
    kinds = [r[0] for r in got]
    assert kinds == ["series", "samples", "series", "batch"]
    assert got[1][2].tolist() == [1000, 2000, 3000] and got[1][3].tolist() == [1.0, 2.0, 4.0]
    assert store.stats()["rejected"] == {"out_of_order": 2, "duplicate": 1}
    assert list(store.select([Matcher.eq("__name__", "m")])) == []
    store.close()


def test_series_ids_are_never_reused_after_a_restart(tmp_path):
    store = AgentStore.open(tmp_path)
    got = taps_of(store)
    store.append({"__name__": "m", "s": "a"}, 1, 1.0)
    store.commit()
    first = got[0][1]
    store.close()  # (a kill -9 leaves the same reservation file)
    again = AgentStore.open(tmp_path)
    got = taps_of(again)
    again.append({"__name__": "m", "s": "other"}, 1, 1.0)
    again.commit()
    assert got[0][0] == "series" and got[0][1] != first
    again.close()


def test_the_full_store_opens_a_directory_agent_mode_used(tmp_path):
    from watchkeeper.tsdb import Store

    agent = AgentStore.open(tmp_path)
    agent.append({"__name__": "m"}, 1, 1.0)
    agent.close()
    store = Store.open(tmp_path, background=False)  # back from agent mode: no refusal
    assert store.health().ok
    store.close()


def test_gc_forgets_series_that_stopped_and_a_returning_series_is_new(tmp_path):
    store = AgentStore.open(tmp_path)
    got = taps_of(store)
    store.append({"__name__": "m", "s": "old"}, 1000, 1.0)
    store.append({"__name__": "m", "s": "live"}, 5000, 1.0)
    assert store.gc(2000) == 1
    assert [s.labels.get("s") for s in store.head.by_id.values()] == ["live"]
    assert store.stats()["removed_series"] == 1
    assert got[-1][0] == "samples"  # what was appended went to the taps first
    assert store.head.lookup({"__name__": "m", "s": "old"}) is None
    old_id = got[0][1]
    got.clear()
    assert store.append({"__name__": "m", "s": "old"}, 1500, 2.0)  # back, older: a new series
    store.commit()
    assert got[0][0] == "series" and got[0][1] != old_id and got[0][2].get("s") == "old"
    assert got[1][1].tolist() == [got[0][1]]
    store.close()


def _churn_round(store, r: int, per_round: int = 300) -> None:
    """One round: 50 series that never stop and ``per_round`` that live one round only."""
    t = (r + 1) * 10_000
    store.append_many([({"__name__": "steady", "i": str(i)}, t, 1.0) for i in range(50)]
                      + [({"__name__": "churn", "round": str(r), "i": str(i)}, t, 1.0)
                         for i in range(per_round)])
    store.commit()


def test_memory_stays_bounded_while_series_come_and_go(tmp_path):
    """Series that stop are forgotten: the series count and the memory the store holds
    stay flat over many rounds of new series; without ``gc`` both grow every round."""
    import gc as pygc
    import tracemalloc

    def held(store, rounds: int, forget: bool) -> list[int]:
        sizes = []
        for r in range(rounds):
            _churn_round(store, r)
            if forget:  # as the agent does: drop what is older than this round
                store.gc((r + 1) * 10_000)
            pygc.collect()
            sizes.append(tracemalloc.get_traced_memory()[0])
        return sizes

    tracemalloc.start()
    try:
        kept = AgentStore.open(tmp_path / "gc")
        with_gc = held(kept, 20, forget=True)
        assert len(kept.head.by_id) == 350  # the steady 50 and this round's 300
        assert kept.stats()["removed_series"] == 19 * 300
        kept.close()
        del kept
        pygc.collect()
        base = tracemalloc.get_traced_memory()[0]
        grown = AgentStore.open(tmp_path / "nogc")
        without = [m - base for m in held(grown, 20, forget=False)]
        assert len(grown.head.by_id) == 50 + 20 * 300
        grown.close()
    finally:
        tracemalloc.stop()
    # with gc: what round 20 holds is what round 5 held (give or take allocator noise)
    assert with_gc[-1] - with_gc[4] < 0.1 * (with_gc[4] - with_gc[0] + without[0])
    # without: every round adds its series, so the last 15 rounds grew ~4 x the first 4's
    assert without[-1] - without[4] > 2 * (without[4] - without[0])


def test_an_append_that_found_a_series_gc_then_forgot_looks_it_up_again(tmp_path):
    """``gc`` may forget a series between an append's lookup (outside the lock) and its
    hold of the lock: the append must not send samples under the forgotten id, which no
    queue could label."""
    store = AgentStore.open(tmp_path)
    got = taps_of(store)
    store.append({"__name__": "m"}, 1000, 1.0)
    store.append({"__name__": "m"}, 1500, 1.0)  # a dict lookup: now in the lookup cache
    store.commit()

    class ForgottenMidLookup(dict):
        """Labels whose lookup lets ``gc`` run after the cached series was found."""

        armed = True

        def values(self):
            if ForgottenMidLookup.armed:
                ForgottenMidLookup.armed = False
                assert store.gc(10_000) == 1
            return super().values()

    got.clear()
    assert store.append_many([(ForgottenMidLookup({"__name__": "m"}), 2000, 2.0)]) == 1
    store.commit()
    kinds = [r[0] for r in got]
    assert kinds == ["series", "samples"]
    described = got[0][1]
    assert got[1][1].tolist() == [described] and store.head.by_id[described].labels.get(
        "__name__") == "m"
    store.close()
