"""The embedded time-series store: in-memory head, write-ahead log, compressed chunks
in SQLite, rollups and retention, behind the narrow ``TimeSeriesStore`` contract.

    from watchkeeper.tsdb import Store, parse_selector
    with Store.open("data") as store:
        store.append({"__name__": "up", "job": "api"}, 1_700_000_000_000, 1.0)
        store.commit()
        for series in store.select(parse_selector('up{job="api"}')):
            print(series.labels, series.timestamps, series.values)
"""

from watchkeeper.tsdb.api import Health, RollupData, SeriesData, TimeSeriesStore
from watchkeeper.tsdb.errors import (
    BadMatcherError,
    CorruptChunkError,
    DataDirError,
    StoreClosedError,
    StoreLockedError,
    TSDBError,
)
from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import Matcher, parse_selector
from watchkeeper.tsdb.rollups import RESOLUTIONS, resolution_for
from watchkeeper.tsdb.store import Store

__all__ = [
    "RESOLUTIONS",
    "BadMatcherError",
    "CorruptChunkError",
    "DataDirError",
    "Health",
    "Labels",
    "Matcher",
    "RollupData",
    "SeriesData",
    "Store",
    "StoreClosedError",
    "StoreLockedError",
    "TSDBError",
    "TimeSeriesStore",
    "parse_selector",
    "resolution_for",
]
