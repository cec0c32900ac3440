"""Capacity planning, hot spots and hints from planted metrics, each with its figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from watchkeeper.analysis.capacity import DAY
from watchkeeper.analysis.planning import plan
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

T0 = 1_700_000_000_000
STEP = 300_000  # five minutes
DAYS = 3


@pytest.fixture(scope="module")
def answer(tmp_path_factory: pytest.TempPathFactory) -> dict:
    store = Store.open(Path(tmp_path_factory.mktemp("plan")) / "d", background=False)
    ts = np.arange(T0, T0 + DAYS * int(DAY * 1000) + 1, STEP, dtype=np.int64)
    k = np.arange(len(ts))
    days = (ts - T0) / (DAY * 1000)
    rng = np.random.default_rng(4)

    def put(labels: dict, values: np.ndarray) -> None:
        store.append_array(labels, ts, np.asarray(values, dtype=float))

    disk = {"mountpoint": "/", "fstype": "ext4", "device": "sda"}
    put({"__name__": "node_filesystem_size_bytes", **disk}, np.full(len(ts), 100e9))
    put({"__name__": "node_filesystem_avail_bytes", **disk}, 100e9 - (40e9 + 10e9 * days))
    put({"__name__": "node_memory_MemTotal_bytes"}, np.full(len(ts), 16e9))
    put({"__name__": "node_memory_MemAvailable_bytes"}, 10e9 + 0.1e9 * rng.normal(size=len(ts)))
    for pool, used in (("main", 2.0), ("reports", 17.0)):
        put({"__name__": "db_client_connection_count", "pool_name": pool, "state": "used"},
            np.minimum(20, used + (k % 3)))
        put({"__name__": "db_client_connection_max", "pool_name": pool}, np.full(len(ts), 20))
    for route, per_step, mean in (("/search", 100, 0.4), ("/home", 1000, 0.01)):
        base = {"http_route": route}
        put({"__name__": "http_server_request_duration_seconds_count", **base}, per_step * k)
        put({"__name__": "http_server_request_duration_seconds_sum", **base},
            per_step * mean * k)
    for cache, hit in (("sessions", 0.3), ("pages", 0.95)):
        for result, share in (("hit", hit), ("miss", 1 - hit)):
            put({"__name__": "cache_requests_total", "cache": cache, "tier": "l1",
                 "result": result}, np.floor(50 * share * k))
    put({"__name__": "jobs_in_progress", "system": "celery", "queue": "mail"},
        (k % 10 == 0).astype(float))
    put({"__name__": "job_worker_slots", "system": "celery", "queue": "mail"},
        np.full(len(ts), 16))
    store.commit()
    now = int(ts[-1])
    try:
        yield plan(Engine(store), now, window="1d", lookback_ms=DAYS * int(DAY * 1000))
    finally:
        store.close()


def test_disk_growth_headroom_and_the_date_the_target_is_crossed(answer: dict) -> None:
    [disk] = [r for r in answer["resources"] if r["resource"] == "disk"]
    assert disk["growth_per_day"] == pytest.approx(10e9, rel=0.05)
    assert disk["utilisation"] == pytest.approx(0.7, abs=0.01)
    assert disk["headroom"] == pytest.approx(10e9, rel=0.05)  # 80 GB target, 70 GB used
    now = (T0 + DAYS * DAY * 1000) / 1000
    assert (disk["target_crossed_at"] - now) / DAY == pytest.approx(1.0, rel=0.1)
    # soonest crossing first: the pool past its target already, then the disk
    assert [r["resource"] for r in answer["resources"][:2]] == ["pool", "disk"]
    [memory] = [r for r in answer["resources"] if r["resource"] == "memory"]
    assert memory["target_crossed_at"] is None and memory["utilisation"] == pytest.approx(
        6 / 16, abs=0.02)
    pools = {r["labels"]["pool_name"]: r for r in answer["resources"] if r["resource"] == "pool"}
    assert pools["reports"]["utilisation"] >= 0.85
    assert pools["reports"]["target_crossed_at"] is not None  # above 80 % already


def test_hot_spots_rank_by_total_cost(answer: dict) -> None:
    routes = answer["hot_spots"]["routes"]
    assert [r["http_route"] for r in routes] == ["/search", "/home"]  # 40 s beats 10 s a step
    assert routes[0]["mean_seconds"] == pytest.approx(0.4, rel=0.01)
    assert routes[0]["total_seconds"] == pytest.approx(100 * 0.4 * 288, rel=0.02)
    caches = answer["hot_spots"]["caches"]
    assert caches[0]["cache"] == "sessions" and caches[0]["hit_ratio"] == pytest.approx(
        0.3, abs=0.02)


def test_hints_name_the_pool_the_cache_and_the_workers_with_their_figures(
        answer: dict) -> None:
    by_kind = {h["kind"]: h for h in answer["hints"]}
    assert set(by_kind) == {"over_provisioned_pool", "low_hit_ratio_cache", "idle_workers"}
    pool = by_kind["over_provisioned_pool"]
    assert pool["labels"]["pool_name"] == "main"
    assert pool["figures"] == {"peak_used": 4.0, "max": 20.0, "suggested_max": 7}
    cache = by_kind["low_hit_ratio_cache"]
    assert cache["labels"]["cache"] == "sessions" and "30 %" in cache["hint"]
    workers = by_kind["idle_workers"]
    assert workers["figures"]["busy_ratio"] == pytest.approx(0.1 / 16, rel=0.1)
