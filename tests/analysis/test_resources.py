"""Everything that can run out gets a time until full: inodes, memory, file descriptors and a
config's own gauge with a limit, beside disks, each row named by its resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.analysis import resources
from watchkeeper.analysis.capacity import DAY
from watchkeeper.analysis.resources import Resource
from watchkeeper.analysis.views import capacity
from watchkeeper.config import ConfigError
from watchkeeper.config.loader import parse_config
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

T0 = 1_700_000_000_000
DAY_MS = int(DAY * 1000)


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "d", background=False)
    yield s
    s.close()
    resources.configure(())


def _fill(store, days: float = 3.0) -> int:
    """A disk with space to spare whose inodes run out, memory growing 1 GiB a day, flat
    file descriptors, and a queue growing toward its limit."""
    now = T0 + int(days * DAY_MS)
    fs = {"mountpoint": "/srv", "fstype": "ext4", "device": "sdb"}
    for ts in range(T0, now + 1, 600_000):
        d = (ts - T0) / DAY_MS
        for name, value in (("node_filesystem_size_bytes", 100e9),
                            ("node_filesystem_avail_bytes", 90e9),  # flat, 10 % used
                            ("node_filesystem_files", 1e6),
                            ("node_filesystem_files_free", 6e5 - 1e5 * d),  # 1e5 a day
                            ("node_filesystem_readonly", 0.0)):
            store.append({"__name__": name, **fs}, ts, value)
        store.append({"__name__": "node_memory_MemTotal_bytes"}, ts, 16 * 2**30)
        store.append({"__name__": "node_memory_MemAvailable_bytes"}, ts, 12 * 2**30 - d * 2**30)
        store.append({"__name__": "node_filefd_allocated"}, ts, 1000.0)
        store.append({"__name__": "node_filefd_maximum"}, ts, 1e6)
        store.append({"__name__": "jobs_queued", "queue": "mail"}, ts, 100 + 50 * d)
        store.append({"__name__": "jobs_queue_limit", "queue": "mail"}, ts, 1000.0)
    store.commit()
    return now


def test_inodes_memory_and_fds_are_fitted_beside_disks(store) -> None:
    now = _fill(store)
    rows = {r["resource"]: r for r in capacity(Engine(store), now)}
    assert {"disk", "inodes", "memory", "file_descriptors"} <= set(rows)
    assert rows["disk"]["seconds"] is None  # flat: no date, no page
    # 700k inodes used of 1M, 100k a day: three days left
    assert rows["inodes"]["seconds"] / DAY == pytest.approx(3.0, rel=0.15)
    assert rows["inodes"]["labels"] == {"mountpoint": "/srv", "fstype": "ext4",
                                        "device": "sdb", "resource": "inodes"}
    # 7 GiB used of 16, a GiB a day: nine days
    assert rows["memory"]["seconds"] / DAY == pytest.approx(9.0, rel=0.15)
    assert rows["memory"]["unit"] == "bytes"
    assert rows["memory"]["growth_per_day"] == pytest.approx(2**30, rel=0.05)
    assert rows["file_descriptors"]["seconds"] is None
    assert "jobs" not in str(rows)  # not configured: not a resource
    soonest = capacity(Engine(store), now)[0]
    assert soonest["resource"] == "inodes"  # soonest first, across resources


def test_a_configured_gauge_with_a_limit_is_a_resource(store) -> None:
    now = _fill(store)
    cfg = parse_config("""
analysis:
  capacity_resources:
    - {name: mail_queue, used: jobs_queued, limit: jobs_queue_limit}
""")
    resources.configure_from(cfg.config)
    [row] = capacity(Engine(store), now, resources=["mail_queue"])
    assert row["labels"] == {"queue": "mail", "resource": "mail_queue"}
    # 250 queued of 1000, 50 a day: fifteen days
    assert row["seconds"] / DAY == pytest.approx(15.0, rel=0.15)
    with pytest.raises(ValueError, match="unknown capacity resource"):
        capacity(Engine(store), now, resources=["mail_queues"])


@pytest.mark.parametrize("body, error", [
    ("- {name: disk, used: a, limit: b}", "built in"),
    ("- {name: q, used: a, limit: b}\n    - {name: q, used: c, limit: d}", "used twice"),
    ("- {name: q, used: 'rate(a[5m]', limit: b}", "not PromQL"),
    ("- {name: 'bad name', used: a, limit: b}", "pattern"),
])
def test_bad_resources_are_config_errors(body: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_config(f"analysis:\n  capacity_resources:\n    {body}\n")


def test_configure_rejects_a_name_twice() -> None:
    with pytest.raises(ValueError, match="used twice"):
        resources.configure([Resource("memory", "a", "b")])
