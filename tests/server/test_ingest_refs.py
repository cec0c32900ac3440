"""A cached scrape's samples come as columns with a slot for the store's series handles:
the ingester resolves them once per change of series, and what is stored is exactly what
the plain path stores (external labels included), in the full store and the agent store
alike."""

from __future__ import annotations

import numpy as np
import pytest

from watchkeeper.scrape.cache import CachedSamples, SeriesRefs
from watchkeeper.server.ingest import Ingester
from watchkeeper.tsdb import Store
from watchkeeper.tsdb.agent import AgentStore
from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import parse_selector
from watchkeeper.tsdb.wal import decode

SERIES = [{"__name__": "m", "i": str(i), "job": "j"} for i in range(5)]


def _batch(slot: SeriesRefs, ts: int, value: float) -> CachedSamples:
    values = np.array([value + i for i in range(len(SERIES))])
    # then a report sample, looked up
    return CachedSamples(SERIES, ts, values, slot, [({"__name__": "up", "job": "j"}, ts, 1.0)])


@pytest.fixture(params=["full", "agent"])
def store(request, tmp_path):
    s = Store.open(tmp_path / "s") if request.param == "full" else AgentStore.open(tmp_path / "a")
    yield s
    s.close()


def test_handles_are_resolved_once_and_reused(store, monkeypatch) -> None:
    ing = Ingester(store, {"replica": "a"})
    slot = SeriesRefs()
    assert ing.write(_batch(slot, 1000, 1.0)) == 6
    first = list(slot.refs.series)
    assert slot.owner is store and len(first) == 5
    calls = []
    monkeypatch.setattr(store.head, "lookup", lambda labels: calls.append(labels))
    assert ing.write(_batch(slot, 2000, 2.0)) == 6
    assert slot.refs.series == first and len(calls) == 1  # only the report sample looked up
    assert [Labels.of(s.labels) for s in first] == [Labels.of({**lb, "replica": "a"})
                                                    for lb in SERIES]


def test_stored_exactly_as_the_plain_path(tmp_path) -> None:
    plain, cached = Store.open(tmp_path / "p"), Store.open(tmp_path / "c")
    slot = SeriesRefs()
    for n in range(3):
        batch = _batch(slot, 1000 * (n + 1), float(n))
        Ingester(plain, {"replica": "a"}).write(list(batch))
        Ingester(cached, {"replica": "a"}).write(batch)
    got = [[(s.labels, s.timestamps.tolist(), s.values.tolist())
            for s in st.select(parse_selector('{job="j"}'))] for st in (plain, cached)]
    assert got[0] == got[1] and len(got[0]) == 6
    plain.close()
    cached.close()


def test_a_handle_of_a_forgotten_series_finds_the_new_one(tmp_path) -> None:
    store = AgentStore.open(tmp_path)
    got = []
    store.taps.append(lambda records: got.extend(decode(k, p) for k, p in records))
    ing, slot = Ingester(store), SeriesRefs()
    ing.write(_batch(slot, 1000, 1.0))
    old = {s.id for s in slot.refs.series}
    assert store.gc(5000) == 6  # every series forgotten
    assert ing.write(_batch(slot, 6000, 2.0)) == 6
    store.commit()
    described = {r[1]: r[2] for r in got if r[0] == "series"}
    last = [r for r in got if r[0] == "samples"][-1]
    assert not old & set(last[1].tolist())  # new ids, each described with its labels
    assert sorted(described[i].to_dict()["__name__"] for i in last[1].tolist()) == \
        ["m"] * 5 + ["up"]


def test_another_store_resolves_again(tmp_path) -> None:
    slot = SeriesRefs()
    one, two = AgentStore.open(tmp_path / "1"), AgentStore.open(tmp_path / "2")
    Ingester(one).write(_batch(slot, 1000, 1.0))
    assert slot.owner is one
    assert Ingester(two).write(_batch(slot, 2000, 1.0)) == 6
    assert slot.owner is two and all(two.head.by_id[s.id] is s for s in slot.refs.series)
    one.close()
    two.close()
