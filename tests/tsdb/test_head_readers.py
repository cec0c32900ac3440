"""Readers never pin the head: appends go on while query results are still held."""

import numpy as np

from watchkeeper.tsdb import Store, parse_selector


def test_append_after_select_of_a_one_sample_series_while_result_is_held(tmp_path):
    with Store.open(tmp_path / "d") as store:
        store.append({"__name__": "up", "job": "a"}, 1_000, 1.0)
        store.commit()
        held = list(store.select(parse_selector("up")))
        assert held[0].values.tolist() == [1.0]
        # The result is still alive: appending to the same series must work.
        assert store.append({"__name__": "up", "job": "a"}, 2_000, 0.0)
        store.commit()
        assert held[0].values.tolist() == [1.0]  # what was read stays as it was
        (now,) = store.select(parse_selector("up"))
        assert now.timestamps.tolist() == [1_000, 2_000]


def test_selected_arrays_are_private_copies(tmp_path):
    with Store.open(tmp_path / "d") as store:
        for n in (1, 3):
            labels = {"__name__": f"m{n}"}
            for i in range(n):
                store.append(labels, 1_000 * (i + 1), float(i))
        store.commit()
        for series in store.select(parse_selector('{__name__=~"m.*"}')):
            series.values[:] = np.nan  # a reader may scribble on what it got
        for series in store.select(parse_selector('{__name__=~"m.*"}')):
            assert not np.isnan(series.values).any()
