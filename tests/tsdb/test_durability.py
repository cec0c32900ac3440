import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.tsdb.errors import DataDirError, StoreLockedError
from watchkeeper.tsdb.store import Store

T0 = 1_700_000_000_000

WRITER = textwrap.dedent("""
    import sys
    from watchkeeper.tsdb.store import Store
    store = Store.open(sys.argv[1], sync="always")
    i = 0
    while i < 200_000:
        for k in range(3):
            store.append({"__name__": "w", "k": str(k)}, 1_700_000_000_000 + i, i + k / 1000)
        store.commit()
        print(i, flush=True)  # acknowledged: committed and fsynced
        i += 1
""")


def test_kill_9_loses_no_acknowledged_sample_with_sync_always(tmp_path):
    path = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            text=True)
    acked = -1
    deadline = time.monotonic() + 60
    try:
        while acked < 2000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert acked >= 2000, "writer did not get going"
    store = Store.open(path, background=False)
    try:
        assert store.recovery.records > 0
        for data in store.select([]):
            k = int(data.labels.get("k"))
            n = data.timestamps.size
            assert n >= acked + 1
            assert data.timestamps.tolist() == [T0 + i for i in range(n)]
            assert data.values.tolist() == [i + k / 1000 for i in range(n)]
        assert store.health().ok
    finally:
        store.close()


def test_torn_wal_tail_is_cut_and_reported(tmp_path):
    path = tmp_path / "data"
    store = Store.open(path, background=False, sync="always")
    for i in range(50):
        store.append({"__name__": "t"}, T0 + i, float(i))
        store.commit()
    store.wal.close()  # simulate a crash: no checkpoint at close
    store._dir_lock.release()
    segment = sorted((path / "wal").iterdir())[-1]
    with open(segment, "ab") as f:
        f.write(b"\x40\x00\x00\x00garbage-of-a-half-written-record")
    again = Store.open(path, background=False)
    try:
        assert again.recovery.samples == 50
        assert again.recovery.torn_bytes > 0
        assert "torn" in str(again.recovery)
        (data,) = again.select([])
        assert data.values.tolist() == [float(i) for i in range(50)]
        again.append({"__name__": "t"}, T0 + 50, 50.0)
        again.commit()
    finally:
        again.close()
    with Store.open(path, background=False) as final:
        (data,) = final.select([])
        assert data.timestamps.size == 51


def test_second_opener_gets_a_clear_locked_error(tmp_path):
    with Store.open(tmp_path / "d", background=False), pytest.raises(
        StoreLockedError, match="in use"
    ):
        Store.open(tmp_path / "d", background=False)


def test_foreign_directory_is_refused(tmp_path):
    (tmp_path / "chunks_head").mkdir()
    (tmp_path / "wal").mkdir()
    (tmp_path / "01H8XYZ").mkdir()
    with pytest.raises(DataDirError, match="not an empty or watchkeeper data directory"):
        Store.open(tmp_path, background=False)


def test_foreign_database_file_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "tsdb.sqlite3")
    conn.execute("CREATE TABLE other(x)")
    conn.commit()
    conn.close()
    with pytest.raises(DataDirError, match="another application"):
        Store.open(tmp_path, background=False)


def test_garbage_database_file_is_a_clear_error(tmp_path):
    (tmp_path / "tsdb.sqlite3").write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(DataDirError, match="not a valid store database"):
        Store.open(tmp_path, background=False)


def test_stray_files_make_health_degraded_but_keep_data(tmp_path):
    with Store.open(tmp_path, background=False) as store:
        store.append({"__name__": "x"}, T0, 1.0)
        (tmp_path / "backup.tar").write_bytes(b"x")
        (tmp_path / "wal" / "notes.txt").write_text("x")
        health = store.health()
        assert health.status == "degraded"
        assert "backup.tar" in health.reasons[0] and "wal/notes.txt" in health.reasons[0]
    with Store.open(tmp_path, background=False) as store:
        assert store.stats()["samples"] == 1


FULL_DISK = textwrap.dedent("""
    import json, resource, signal, sys
    import numpy as np
    from watchkeeper.tsdb.store import Store
    from watchkeeper.tsdb.errors import TSDBError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    store = Store.open(sys.argv[1], sync="always", background=False)
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
    acked, error = 0, None
    for i in range(1000):
        ts = 1_700_000_000_000 + np.arange(i * 100, (i + 1) * 100)
        try:
            store.append_array({"__name__": "f"}, ts, ts.astype(float))
        except TSDBError as e:
            error = str(e)
            break
        acked = (i + 1) * 100
    print(json.dumps({"acked": acked, "error": error, "health": store.health().reasons}))
""")


def test_full_disk_is_a_clear_error_degraded_health_and_no_acknowledged_loss(tmp_path):
    out = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["acked"] > 0
    assert "cannot write the WAL" in result["error"]
    assert any("File too large" in r or "No space" in r for r in result["health"])
    with Store.open(tmp_path, background=False) as store:
        (data,) = store.select([])
        assert data.timestamps.size >= result["acked"]
        assert np.array_equal(data.values[: result["acked"]],
                              data.timestamps[: result["acked"]].astype(float))


DEFAULT_WRITER = textwrap.dedent("""
    import sys, time
    from watchkeeper.tsdb.store import Store
    store = Store.open(sys.argv[1])  # default policy: sync="interval", every second
    for i in range(1000):
        store.append({"__name__": "d"}, 1_700_000_000_000 + i, float(i))  # no commit()
    print("appended", flush=True)
    time.sleep(30)
""")


def test_default_policy_makes_uncommitted_samples_durable_within_a_second(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", DEFAULT_WRITER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "appended"
        time.sleep(2.5)  # longer than the 1 s interval, even on a busy machine
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with Store.open(tmp_path, background=False) as store:
        (data,) = store.select([])
        assert data.values.tolist() == [float(i) for i in range(1000)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_damaged_wal_segments_replay_cleanly(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("wal")
    store = Store.open(path, background=False, sync="always")
    for i in range(20):
        store.append({"__name__": "w", "i": str(i % 3)}, T0 + i, float(i))
        store.commit()
    store.append_array({"__name__": "b"}, T0 + np.arange(10), np.arange(10.0))
    store.wal.close()  # crash: no checkpoint
    store._dir_lock.release()
    segment = sorted((path / "wal").iterdir())[-1]
    raw = bytearray(segment.read_bytes())
    pos = data.draw(st.integers(0, len(raw) - 1))
    how = data.draw(st.sampled_from(["flip", "cut", "junk"]))
    if how == "flip":
        raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "cut":
        del raw[pos:]
    else:
        raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=40))
    segment.write_bytes(bytes(raw))
    with Store.open(path, background=False) as again:  # never raises, never invents data
        for series in again.select([]):
            assert series.timestamps.size <= 10
            assert set(series.values.tolist()) <= {float(i) for i in range(20)}
