"""More than one shard when the backlog asks for it, each series still in order; a config
reload that changes remote_write loses and repeats nothing."""

import time

from pushes import SERIES, push
from rwcapture import Endpoint, Receiver
from serve_process import ServeProcess


def rw(receiver, **queue) -> dict:
    return {"url": receiver.write_url("sink"), "name": "sink",
            "metadata_config": {"send": False},
            "queue_config": {"batch_send_deadline": "100ms", "max_samples_per_send": 100,
                             **queue}}


def metric(wk, name: str) -> float:
    for line in wk.client.get("/metrics").text.splitlines():
        if line.startswith(name + "{") and 'remote_name="sink"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def arrived(ep: Endpoint) -> dict[str, list[int]]:
    """Each series' timestamps in arrival order."""
    out: dict[str, list[int]] = {}
    for r in sorted(ep.accepted, key=lambda r: r.at):
        for s in r.samples:
            if s.map.get("__name__") == "rwtest_value":
                out.setdefault(s.map["s"], []).append(s.ts)
    return out


def wait_for(ep: Endpoint, total: int, timeout: float = 60) -> dict[str, list[int]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = arrived(ep)
        if sum(map(len, got.values())) >= total:
            break
        time.sleep(0.2)
    return arrived(ep)


def test_shards_grow_with_the_backlog_and_keep_each_series_in_order(tmp_path):
    sink = Endpoint("sink", delay=0.15)  # a slow sink: one shard cannot keep up
    receiver = Receiver([sink]).start()
    try:
        config = {"collect_host": False, "remote_write": [rw(receiver, max_shards=4)]}
        with ServeProcess(tmp_path / "wk", config) as wk:
            start = int(time.time() * 1000) - 3_600_000
            sent = push(wk, start, 1200)  # 6,000 samples: 60 slow requests for one shard
            got = wait_for(sink, sent)
    finally:
        receiver.stop()
    assert sink.max_inflight > 1  # shards really sent at once
    assert len(got) == SERIES
    for ts in got.values():
        assert ts == [start + i * 1000 for i in range(1200)]  # all, once, in order


def test_reloading_remote_write_loses_and_repeats_nothing(tmp_path):
    sink = Endpoint("sink")
    receiver = Receiver([sink]).start()
    try:
        config = {"collect_host": False, "remote_write": [rw(receiver)]}
        with ServeProcess(tmp_path / "wk", config) as wk:
            start = int(time.time() * 1000) - 3_600_000
            sent = push(wk, start, 100)
            config["remote_write"] = [rw(receiver, min_shards=2, max_shards=2)]
            wk.write_config({**wk.config, **config})
            assert wk.client.post("/-/reload").status_code == 200
            sent += push(wk, start + 100_000, 100)
            got = wait_for(sink, sent)
            wk.wait_until(lambda: metric(wk, "prometheus_remote_storage_shards") == 2, 15,
                          "the new shard count in /metrics")
    finally:
        receiver.stop()
    for ts in got.values():
        assert ts == [start + i * 1000 for i in range(200)]
