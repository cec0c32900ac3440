"""A real Prometheus 2.42 (``--web.enable-remote-write-receiver``) as the strict receiver."""

import time

from pushes import push
from serve_process import ServeProcess

from prometheus_runner import PrometheusRunner


def test_prometheus_receives_every_sample(tmp_path):
    with PrometheusRunner(tmp_path / "prom", config={"global": {"scrape_interval": "1m"}},
                          extra_args=["--web.enable-remote-write-receiver"]) as prom:
        config = {"collect_host": False,
                  "remote_write": [{"url": f"{prom.url}/api/v1/write", "name": "prom",
                                    "queue_config": {"batch_send_deadline": "200ms",
                                                     "max_samples_per_send": 150}}]}
        start = int(time.time() * 1000) - 300_000
        with ServeProcess(tmp_path / "wk", config) as wk:
            sent = push(wk, start, 200)

            def raw() -> list[dict]:  # the raw samples: a range selector, not a range query
                rows = prom.query("rwtest_value[1h]")
                return rows if sum(len(r["values"]) for r in rows) >= sent else []

            rows = prom.wait_until(raw, 60, what="every sample in Prometheus")
        assert sum(len(r["values"]) for r in rows) == sent
        for r in rows:
            stamps = [round(float(t) * 1000) for t, _ in r["values"]]
            assert stamps == [start + i * 1000 for i in range(200)]
