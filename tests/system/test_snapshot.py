import os
import time

from watchkeeper.system.snapshot import disk_usage, summarize, take_snapshot


def test_disk_usage_is_what_df_shows():
    (root,) = [row for row in disk_usage() if row["mountpoint"] == "/"]
    st = os.statvfs("/")
    assert root["total_bytes"] == st.f_blocks * st.f_frsize
    assert root["avail_bytes"] == st.f_bavail * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    assert abs(root["used_bytes"] - used) <= 2**26  # others write meanwhile


def test_rates_come_from_two_snapshots():
    a = take_snapshot(with_processes=False)
    time.sleep(0.1)
    b = take_snapshot(with_processes=False)
    s = summarize(a, b)
    assert s["interval_seconds"] >= 0.09
    assert 0.0 <= s["cpu"]["percent"] <= 100.0
    assert s["processes"] == {"by_cpu": [], "by_memory": []}
    for rates in s["network"].values():
        assert min(rates.values()) >= 0.0
