"""Our remote-write receiver takes what the OpenTelemetry Prometheus remote-write exporter
sends (``opentelemetry-exporter-prometheus-remote-write``, run with the official SDK): every
sample of every series it sent is found by PromQL under the same labels, with its value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from serve_process import ServeProcess

from peers import side_packages

HERE = Path(__file__).resolve().parent


def _send(url: str) -> tuple[list[dict], list[str]]:
    side = side_packages("otel-prw")  # protobuf < 7 for the exporter's generated code
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([side, str(HERE), *sys.path])}
    done = subprocess.run([sys.executable, str(HERE / "otel_prw_producer.py"), url],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return lines[:-1], lines[-1]["results"]


def _selector(labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{labels['__name__']}{{{inner}}}"


def test_every_series_the_exporter_sent_is_stored(tmp_path) -> None:
    with ServeProcess(tmp_path, {"collect_host": False}) as server:
        series, results = _send(f"{server.url}/api/v1/write")
        assert len(results) >= 3 and set(results) == {"SUCCESS"}, server.log()[-2000:]
        names = {s["labels"]["__name__"] for s in series}
        assert {"jobs_done", "queue_depth", "room_temperature", "job_duration_s_sum",
                "job_duration_s_count"} <= names
        assert any(s["labels"].get("le") == "+Inf" for s in series)
        checked = 0
        for s in series:
            for ts_ms, value in s["samples"]:
                body = server.client.get("/api/v1/query", params={
                    "query": _selector(s["labels"]), "time": ts_ms / 1000}).json()
                result = body["data"]["result"]
                assert len(result) == 1, (s["labels"], result)
                assert result[0]["metric"] == s["labels"]  # every label kept as sent
                assert float(result[0]["value"][1]) == value, (s["labels"], ts_ms)
                checked += 1
        assert checked == sum(len(s["samples"]) for s in series) >= 3 * len(names)
