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
