"""The server's timers: the top anomaly scores and the time until full land in the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from watchkeeper.analysis.capacity import DAY
from watchkeeper.analysis.streaming import WARMUP
from watchkeeper.analysis.watch import FULL_METRIC, GROWTH_METRIC, SCORE_METRIC, AnalysisWatch
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

T0 = 1_700_000_000_000
STEP = 30_000


def test_the_series_that_jumps_is_recorded_at_the_top(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "d", background=False)
    try:
        rng = np.random.default_rng(1)
        watch = AnalysisWatch(store, Engine(store), ["latency_seconds"], record_top=2)
        ticks = WARMUP + 30
        for k in range(ticks):
            ts = T0 + k * STEP
            for host in range(5):
                value = 0.2 + 0.01 * rng.normal()
                if host == 3 and k == ticks - 1:
                    value = 0.9
                store.append({"__name__": "latency_seconds", "host": f"h{host}"}, ts, value)
            store.commit()
            top = watch.score_tick(ts)
        assert top[0].labels["host"] == "h3" and top[0].score >= 0.5 and len(top) == 2
        engine = Engine(store)
        res = engine.instant(f'{SCORE_METRIC}{{host="h3"}}', ts).value
        assert len(res) == 1 and res.values[0, 0] >= 0.5
        assert dict(res.labels[0])["expr"] == "latency_seconds"
        assert dict(res.labels[0])["metric"] == "latency_seconds"
        # next tick the series is normal again and leaves the top: a stale marker ends it
        store.append({"__name__": "latency_seconds", "host": "h3"}, ts + STEP, 0.2)
        store.commit()
        watch.record_top = 0
        watch.score_tick(ts + STEP)
        assert len(engine.instant(SCORE_METRIC, ts + STEP).value) == 0
    finally:
        store.close()


def test_a_growing_disk_is_recorded_with_its_time_until_full(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "d", background=False)
    try:
        size = 100e9
        now = T0 + int(3 * DAY * 1000)
        for ts in range(T0, now + 1, 600_000):
            used = 10e9 + 10e9 * (ts - T0) / (DAY * 1000)  # 10 GB a day
            for mount, fstype, grow in (("/", "ext4", True), ("/run", "tmpfs", True),
                                        ("/srv", "ext4", False)):
                labels = {"mountpoint": mount, "fstype": fstype, "device": "sda"}
                avail = size - (used if grow else 10e9)
                store.append({"__name__": "node_filesystem_size_bytes", **labels}, ts, size)
                store.append({"__name__": "node_filesystem_avail_bytes", **labels}, ts, avail)
        store.commit()
        watch = AnalysisWatch(store, Engine(store), [])
        watch.run_once(now / 1000)
        res = Engine(store).instant(FULL_METRIC, now).value
        assert [dict(lbl)["mountpoint"] for lbl in res.labels] == ["/"]
        assert abs(res.values[0, 0] / DAY - 6.0) < 6.0 * 0.15  # 60 GB left at 10 GB a day
        assert {r["labels"]["mountpoint"] for r in watch.capacity} == {"/", "/srv"}
        growth = Engine(store).instant(GROWTH_METRIC, now).value  # the capacity table's column
        per_day = {dict(lbl)["mountpoint"]: v for lbl, v in zip(growth.labels,
                                                                 growth.values[:, 0],
                                                                 strict=True)}
        assert per_day["/"] == pytest.approx(10e9, rel=0.05) and abs(per_day["/srv"]) < 1e6
    finally:
        store.close()
