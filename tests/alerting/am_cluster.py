"""A real Alertmanager cluster for tests: N ``prometheus-alertmanager`` processes on 127.0.0.1,
each peering with the others over ``--cluster.listen-address``/``--cluster.peer``, with
temporary storage. Gossip is made fast (50 ms) so the cluster settles in about a second.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from peers import free_port, require_binary


class AlertmanagerCluster:
    def __init__(self, workdir: Path, config: str, size: int = 2,
                 peer_timeout: str = "3s") -> None:
        self.binary = require_binary("prometheus-alertmanager")
        self.workdir = Path(workdir)
        self.config = config
        self.web_ports = [free_port() for _ in range(size)]
        self.cluster_ports = [free_port() for _ in range(size)]
        self.urls = [f"http://127.0.0.1:{p}" for p in self.web_ports]
        self.peer_timeout = peer_timeout
        self.procs: list[subprocess.Popen] = []

    def start(self, timeout: float = 60.0) -> AlertmanagerCluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(self.config)
        for i, (web, gossip) in enumerate(zip(self.web_ports, self.cluster_ports,
                                              strict=True)):
            peers = [f"--cluster.peer=127.0.0.1:{p}" for p in self.cluster_ports if p != gossip]
            log = (self.workdir / f"am{i}.log").open("ab")
            self.procs.append(subprocess.Popen(
                [self.binary, f"--config.file={config}",
                 f"--storage.path={self.workdir / f'am{i}'}",
                 f"--web.listen-address=127.0.0.1:{web}",
                 f"--cluster.listen-address=127.0.0.1:{gossip}", *peers,
                 f"--cluster.peer-timeout={self.peer_timeout}",
                 "--cluster.gossip-interval=50ms", "--cluster.pushpull-interval=2s"],
                stdout=log, stderr=subprocess.STDOUT))
            log.close()
        deadline = time.monotonic() + timeout
        while not self._clustered():
            for i, proc in enumerate(self.procs):
                assert proc.poll() is None, f"alertmanager {i} exited:\n{self.log(i)}"
            assert time.monotonic() < deadline, "the Alertmanager cluster did not form:\n" \
                + self.log(0)
            time.sleep(0.2)
        return self

    def _clustered(self) -> bool:
        try:
            for url in self.urls:
                status = httpx.get(f"{url}/api/v2/status", timeout=2).json()
                if status["cluster"]["status"] != "ready" or \
                        len(status["cluster"]["peers"]) != len(self.urls):
                    return False
            return True
        except (httpx.HTTPError, KeyError, ValueError):
            return False

    def log(self, i: int) -> str:
        path = self.workdir / f"am{i}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:  # a clean leave waits for peers; the test needs none
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.procs = []

    def __enter__(self) -> AlertmanagerCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
