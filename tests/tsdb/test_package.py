import numpy as np

from watchkeeper.tsdb import Store, TimeSeriesStore, parse_selector


def test_package_example_works(tmp_path):
    with Store.open(tmp_path / "data", background=False) as store:
        assert isinstance(store, TimeSeriesStore)
        store.append({"__name__": "up", "job": "api"}, 1_700_000_000_000, 1.0)
        store.commit()
        (series,) = store.select(parse_selector('up{job="api"}'))
        assert series.timestamps.dtype == np.int64 and series.values.tolist() == [1.0]
