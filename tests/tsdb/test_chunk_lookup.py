"""Finding the chunks of a time window: exactly the overlapping ones, in the order reads
merge them, on new databases and on ones made before the lookup had its own index."""

import sqlite3

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.tsdb import parse_selector, rollups
from watchkeeper.tsdb.chunks import ChunkDB

# the schema of stores written before chunks_span and chunks_unrolled_span existed
_OLD_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE series(id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE);
CREATE TABLE chunks(
    series_id INTEGER NOT NULL, min_t INTEGER NOT NULL, max_t INTEGER NOT NULL,
    n INTEGER NOT NULL, rolled INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL);
CREATE INDEX chunks_by_series ON chunks(series_id, min_t);
CREATE INDEX chunks_unrolled ON chunks(rolled) WHERE rolled = 0;
CREATE TABLE rollups(
    res INTEGER NOT NULL, series_id INTEGER NOT NULL, window INTEGER NOT NULL,
    min_t INTEGER NOT NULL, max_t INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY(res, series_id, window)) WITHOUT ROWID;
CREATE INDEX rollups_span ON rollups(res, series_id, max_t, min_t);
"""

chunk = st.tuples(st.integers(0, 3), st.integers(0, 50), st.integers(0, 20), st.booleans())


def _expected(rows, ids, start, end):
    """(rowid, series) of chunks overlapping [start, end], by series, start, then rowid."""
    hits = [(sid, lo, rowid) for rowid, (sid, lo, hi, _) in enumerate(rows, 1)
            if sid in ids and hi >= start and lo <= end]
    return [(rowid, sid) for sid, _, rowid in sorted(hits)]


@settings(max_examples=60, deadline=None)
@given(st.lists(chunk, max_size=40), st.integers(-5, 75), st.integers(0, 30),
       st.sets(st.integers(0, 3)))
def test_chunk_ids_are_the_overlapping_chunks_in_merge_order(tmp_path_factory, specs, start,
                                                             width, ids):
    # overlapping chunks and chunks sharing a start: the first written is read first
    db = ChunkDB(tmp_path_factory.mktemp("db") / "t.sqlite3")
    try:
        rows = [(sid, lo, lo + span, rolled) for sid, lo, span, rolled in specs]
        db.conn.executemany(
            "INSERT INTO chunks(series_id, min_t, max_t, n, rolled, data) VALUES(?,?,?,1,?,x'00')",
            rows)
        end = start + width
        assert db.chunk_ids(sorted(ids), start, end) == _expected(rows, ids, start, end)
        assert db.series_with_data(start, end) == {
            sid for sid, lo, hi, _ in rows if hi >= start and lo <= end}
        unrolled = {}
        for sid, lo, hi, rolled in rows:
            if not rolled and sid in ids and hi >= start and lo <= end:
                unrolled[sid] = min(unrolled.get(sid, lo), lo)
        assert rollups.first_unrolled_hour(db, sorted(ids), start, end) == {
            sid: max(start, t - t % rollups.HOUR_MS) for sid, t in unrolled.items()}
        first: dict[int, int] = {}
        for sid, lo, _, _ in rows:
            if sid in ids:
                first[sid] = min(first.get(sid, lo), lo)
        assert rollups.starts(db, sorted(ids), None) == first
        # blocks at two resolutions: a series' first bucket is per resolution
        db.conn.executemany(
            "INSERT INTO rollups(res, series_id, window, min_t, max_t, data) "
            "VALUES(?, ?, ?, ?, ?, x'00')",
            [(60_000 if rolled else 300_000, sid, window, lo, hi)
             for window, (sid, lo, hi, rolled) in enumerate(rows)])
        for res in (60_000, 300_000):
            want: dict[int, int] = {}
            for sid, lo, _, rolled in rows:
                if sid in ids and (60_000 if rolled else 300_000) == res:
                    want[sid] = min(want.get(sid, lo), lo)
            assert rollups.starts(db, sorted(ids), res) == want
    finally:
        db.close()


def test_a_store_made_before_the_span_indexes_gets_them_and_reads_the_same(open_store,
                                                                           tmp_path):
    path = tmp_path / "data"
    ts = np.arange(0, 3 * 86_400_000, 60_000, dtype=np.int64) + 1_700_000_000_000
    store = open_store(path)
    for k in range(3):
        store.append_array({"__name__": "m", "k": str(k)}, ts, np.arange(ts.size) * (k + 1.0))
    store.close()
    db_file = path / "tsdb.sqlite3"
    conn = sqlite3.connect(db_file)  # as an older version left it: no span indexes
    conn.execute("DROP INDEX chunks_span")
    conn.execute("DROP INDEX chunks_unrolled_span")
    conn.execute("CREATE INDEX chunks_unrolled ON chunks(rolled) WHERE rolled = 0")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert names >= {"chunks_by_series", "chunks_unrolled"}
    assert {"chunks_span", "chunks_unrolled_span"}.isdisjoint(names)
    conn.close()

    store = open_store(path)
    names = {r[0] for r in store.db.conn.execute(
        "SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"chunks_span", "chunks_unrolled_span"} <= names
    # the older index of unrolled chunks is dropped: chunks_unrolled_span answers its query
    assert "chunks_unrolled" not in names
    start, end = int(ts[1000]), int(ts[2500])
    got = {d.labels.get("k"): d for d in store.select(parse_selector("m"), start, end)}
    inside = (ts >= start) & (ts <= end)
    for k in range(3):
        assert got[str(k)].timestamps.tolist() == ts[inside].tolist()
        assert got[str(k)].values.tolist() == (np.arange(ts.size)[inside] * (k + 1.0)).tolist()


def test_the_old_schema_opens_as_a_store_database(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id=1464554579")  # "WKTS"
    conn.executescript(_OLD_SCHEMA)
    conn.execute("INSERT INTO chunks(series_id, min_t, max_t, n, data) VALUES(1, 0, 9, 1, x'00')")
    conn.commit()
    conn.close()
    db = ChunkDB(path)
    try:
        assert db.chunk_ids([1], 5, 5) == [(1, 1)]
        assert db.chunk_ids([1], 10, 20) == []
    finally:
        db.close()
