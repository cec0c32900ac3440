"""A rollup block's lead (the rows a mean needs) is stored and read apart from its other
frames: a read of means reads the lead alone, with the same bits as a whole block's."""

import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.tsdb import rollup_cache
from watchkeeper.tsdb.errors import CorruptChunkError
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.rollup_blocks import COLUMNS, LEAD_ROWS, ROWS, DecodedBlock
from watchkeeper.tsdb.rollup_encode import encode_block, split_block
from watchkeeper.tsdb.rollups import HOUR_MS, MINUTE_MS

from .test_rollup_blocks import bits, sample_columns
from .test_rollups_retention import T0

MEAN = sorted(LEAD_ROWS)
ALL_ROWS = list(range(len(ROWS)))


def rows_of(block: DecodedBlock, wanted: list[int]) -> list[list[int]]:
    out = np.empty((len(wanted), block.n))
    block.values_into(0, block.n, wanted, out)
    return [bits(row) for row in out]


@pytest.mark.parametrize("squeeze", [False, True])
@pytest.mark.parametrize("decimals", [False, True])
def test_a_lead_reads_a_means_rows_with_the_whole_blocks_bits(squeeze, decimals):
    cols = sample_columns(50, 3, decimals)
    lead, rest = split_block(encode_block(cols, fast=True, squeeze=squeeze))
    whole, alone = DecodedBlock(lead + rest), DecodedBlock(lead, lead=True)
    assert whole.complete and not alone.complete
    assert alone.has_rows(MEAN) and not alone.has_rows([ROWS.index("min")])
    assert rows_of(alone, MEAN) == rows_of(whole, MEAN)
    assert alone.grid == whole.grid and alone.stamps.tolist() == whole.stamps.tolist()
    assert alone.nbytes < whole.nbytes
    with pytest.raises(ValueError, match="lead"):
        rows_of(alone, [ROWS.index("max")])


def test_a_whole_block_read_as_a_lead_is_complete():
    """Blocks written before the split are whole in the lead's column."""
    blob = encode_block(sample_columns(30, 4, True), fast=True)
    block = DecodedBlock(blob, lead=True)
    assert block.complete and rows_of(block, ALL_ROWS) == rows_of(DecodedBlock(blob), ALL_ROWS)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_damaged_or_cut_lead_is_a_clean_error_or_reads_the_same(data):
    cols = sample_columns(40, 5, True)
    lead, _ = split_block(encode_block(cols, fast=True, squeeze=data.draw(st.booleans())))
    want = rows_of(DecodedBlock(lead, lead=True), MEAN)
    damaged = bytearray(lead[: data.draw(st.integers(0, len(lead)))])
    if damaged:
        for pos in data.draw(st.lists(st.integers(0, len(damaged) - 1), max_size=3)):
            damaged[pos] ^= 1 << data.draw(st.integers(0, 7))
    try:
        block = DecodedBlock(bytes(damaged), lead=True)
        got = rows_of(block, MEAN)
    except CorruptChunkError:
        return
    assert got == want  # undetected damage (the header's frame count) changed nothing read


def minute_days(store, series: int, days: int = 1) -> None:
    rng = np.random.default_rng(9)
    ts = T0 + np.arange(days * 1440 * 6, dtype=np.int64) * 10_000  # every 10 s
    for k in range(series):
        store.append_array({"__name__": "m", "k": str(k)}, ts,
                           np.round(100 + rng.normal(0, 5, ts.size), 2))
    store.append_array({"__name__": "m", "k": "0"}, ts[-1:] + HOUR_MS, [1.0])  # closes it
    store.maintain()


def cached(store) -> list[DecodedBlock]:
    blocks = rollup_cache.cache_for(store.db, store.db.conn).blocks
    return [blocks.get(key, recent=False) for key in list(blocks) if key[0] == MINUTE_MS]


def test_a_read_of_means_reads_each_blocks_lead_and_a_later_read_the_rest(open_store):
    store = open_store()
    minute_days(store, 3)
    m = [Matcher("__name__", "=", "m")]
    end = T0 + 86_400_000 - 1
    sizes = store.db.conn.execute(
        "SELECT length(data), length(rest) FROM rollups WHERE res=?", (MINUTE_MS,)).fetchall()
    assert sizes and all(lead * 4 < rest for lead, rest in sizes)
    assert store.db.totals()["rollup_bytes"] == sum(
        d + (r or 0) for d, r in store.db.conn.execute(
            "SELECT length(data), length(rest) FROM rollups"))

    means = list(store.select_rollup(m, T0, end, MINUTE_MS, columns=("sum", "count")))
    assert cached(store) and not any(b.complete for b in cached(store))
    full = list(store.select_rollup(m, T0, end, MINUTE_MS))
    assert all(b.complete for b in cached(store))  # the leads were read again, whole
    assert [bits(r.sum) for r in means] == [bits(r.sum) for r in full]
    assert [bits(r.count) for r in means] == [bits(r.count) for r in full]
    again = list(store.select_rollup(m, T0, end, MINUTE_MS, columns=("sum", "count")))
    assert [bits(r.sum) for r in again] == [bits(r.sum) for r in means]


def old_table(path) -> None:
    """The store's rollups as versions before kept them: a WITHOUT ROWID table of whole
    blocks, no rest column."""
    (db,) = path.glob("*.sqlite3")
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT res, series_id, window, min_t, max_t, data, rest FROM rollups")
    rows = [(*r[:5], r[5] + r[6]) for r in rows.fetchall()]
    conn.executescript("DROP TABLE rollups; CREATE TABLE rollups(res INTEGER NOT NULL, "
                       "series_id INTEGER NOT NULL, window INTEGER NOT NULL, min_t INTEGER "
                       "NOT NULL, max_t INTEGER NOT NULL, data BLOB NOT NULL, "
                       "PRIMARY KEY(res, series_id, window)) WITHOUT ROWID; CREATE INDEX "
                       "rollups_span ON rollups(res, series_id, max_t, min_t);")
    conn.executemany("INSERT INTO rollups VALUES(?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()


def answers(store) -> list[list[list[int]]]:
    m = [Matcher("__name__", "=", "m")]
    return [[bits(getattr(r, c)) for c in COLUMNS[1:]]
            for r in store.select_rollup(m, T0, T0 + 86_400_000 - 1, MINUTE_MS)]


def old_store(open_store, path) -> list[list[list[int]]]:
    """A closed store at path with the earlier table; what its rollups answered."""
    store = open_store(path)
    minute_days(store, 2)
    want = answers(store)
    store.close()
    old_table(path)
    return want


def test_a_store_from_before_the_split_is_upgraded_on_open_and_reads_as_before(open_store,
                                                                              tmp_path):
    want = old_store(open_store, tmp_path / "old")
    store = open_store(tmp_path / "old")
    table = store.db.conn.execute("SELECT sql FROM sqlite_master WHERE name='rollups'")
    assert "WITHOUT ROWID" not in table.fetchone()[0]
    assert store.db.conn.execute("SELECT count(*) FROM rollups WHERE rest IS NULL"
                                 ).fetchone()[0] == 0  # every block split
    assert store.db.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0  # space returned
    assert answers(store) == want
    means = list(store.select_rollup([Matcher("__name__", "=", "m")], T0,
                                     T0 + 86_400_000 - 1, MINUTE_MS, columns=("sum", "count")))
    assert [bits(r.sum) for r in means] == [w[COLUMNS.index("sum") - 1] for w in want]


def test_an_upgrade_that_fails_leaves_the_earlier_table_to_open_again(open_store, tmp_path,
                                                                     monkeypatch):
    from watchkeeper.tsdb import rollup_table

    path = tmp_path / "old"
    want = old_store(open_store, path)
    split = rollup_table._split
    calls = []

    def failing(data):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk gone")
        return split(data)

    monkeypatch.setattr(rollup_table, "_split", failing)
    with pytest.raises(OSError):
        open_store(path)
    monkeypatch.setattr(rollup_table, "_split", split)
    assert answers(open_store(path)) == want


def test_blocks_of_older_layouts_stay_whole():
    from .test_rollup_blocks import LEGACY_FINE, LEGACY_HOURLY

    for blob in (LEGACY_HOURLY, LEGACY_FINE):
        assert split_block(blob) == (blob, None)
