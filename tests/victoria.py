"""A real single-node VictoriaMetrics for tests: 127.0.0.1, a free port, a temporary
``-storageDataPath``; ready on ``GET /health``; raw samples read back with ``/api/v1/export``
(never through range queries)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from peers import free_port, require_binary


class VictoriaMetrics:
    """A single-node VictoriaMetrics on 127.0.0.1; stop and start keep its data."""

    def __init__(self, workdir: Path, extra_args: Sequence[str] = ()) -> None:
        self.binary = require_binary("victoria-metrics")
        self.data = workdir / "vm-data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.write_url = f"{self.url}/api/v1/write"
        self.extra_args = list(extra_args)  # e.g. -dedup.minScrapeInterval=1s
        self.proc: subprocess.Popen | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = (workdir / "vm.log").open("ab")

    def start(self) -> VictoriaMetrics:
        self.proc = subprocess.Popen(
            [self.binary, f"-storageDataPath={self.data}",
             f"-httpListenAddr=127.0.0.1:{self.port}", "-search.latencyOffset=0s",
             *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, "victoria-metrics exited"
            assert time.monotonic() < deadline, "victoria-metrics did not become ready"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def export(self, match: str, end: float | None = None) -> list[dict]:
        """Raw samples of the series matching ``match`` (one JSON line per series), up to
        ``end`` (unix seconds; VictoriaMetrics' default is now)."""
        httpx.post(f"{self.url}/internal/force_flush", timeout=10)
        params = {"match[]": match} if end is None else {"match[]": match, "end": end}
        r = httpx.get(f"{self.url}/api/v1/export", params=params, timeout=30)
        r.raise_for_status()
        return [json.loads(line) for line in r.text.splitlines() if line.strip()]
