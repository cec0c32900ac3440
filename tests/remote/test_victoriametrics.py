"""``watchkeeper serve`` remote-writing into a real VictoriaMetrics: every sample, once."""

import signal
import time

import httpx
from pushes import push
from serve_process import ServeProcess


def config(vm) -> dict:
    return {"collect_host": False,
            "remote_write": [{"url": vm.write_url, "name": "vm",
                              "queue_config": {"batch_send_deadline": "200ms",
                                               "max_samples_per_send": 100,
                                               "max_backoff": "1s"}}]}


def exported(vm) -> dict[str, list[int]]:
    return {row["metric"]["s"]: row["timestamps"] for row in vm.export('{__name__="rwtest_value"}')}


def wait_count(vm, expected: int, timeout: float = 60.0) -> dict[str, list[int]]:
    deadline = time.monotonic() + timeout
    while True:
        got = exported(vm)
        total = sum(len(ts) for ts in got.values())
        if total >= expected or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def metric(wk: ServeProcess, name: str) -> float:
    text = httpx.get(f"{wk.url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + "{") and 'remote_name="vm"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_every_pushed_sample_reaches_victoriametrics(tmp_path, victoria):
    start = int(time.time() * 1000) - 600_000
    with ServeProcess(tmp_path / "wk", config(victoria)) as wk:
        sent = push(wk, start, 200) + push(wk, start + 200_000, 100)
        got = wait_count(victoria, sent)
        assert sum(len(ts) for ts in got.values()) == sent
        for ts in got.values():
            assert ts == sorted(set(ts)) and len(ts) == 300
        wk.wait_until(lambda: metric(wk, "prometheus_remote_storage_samples_total") >= sent,
                      20, "the samples counter")
        assert metric(wk, "prometheus_remote_storage_samples_failed_total") == 0


def test_outage_and_kill9_lose_nothing(tmp_path, victoria):
    start = int(time.time() * 1000) - 3_600_000
    wk = ServeProcess(tmp_path / "wk", config(victoria)).start()
    try:
        ingested = push(wk, start, 50)
        wait_count(victoria, ingested)
        victoria.stop()  # the sink is down for ~20 s
        down_until = time.monotonic() + 20
        step = 50
        while time.monotonic() < down_until - 10:
            ingested += push(wk, start + step * 1000, 50)
            step += 50
            time.sleep(0.5)
        wk.wait_until(lambda: metric(wk, "prometheus_remote_storage_samples_retried_total") > 0,
                      20, "a retry")
        wk.proc.send_signal(signal.SIGKILL)
        wk.proc.wait(10)
        wk.start()  # the same data directory: the queue resumes
        while time.monotonic() < down_until:
            ingested += push(wk, start + step * 1000, 50)
            step += 50
            time.sleep(0.5)
        victoria.start()
        got = wait_count(victoria, ingested, timeout=120)
        total = sum(len(ts) for ts in got.values())
        assert total == ingested, wk.log()[-3000:]
        for ts in got.values():
            assert len(ts) == len(set(ts)) == step  # none twice, none missing
    finally:
        wk.stop()
