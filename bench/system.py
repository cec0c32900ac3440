"""Cost of host+process collection against a node_exporter scrape on the same machine.

Prints, per line, our figure, the anchor's (node_exporter 1.5, run here on 127.0.0.1) and
the ratio ours/anchor; the worst ratio comes last. Also: the CPU a 1-second collection
interval would cost (goal <= 0.5% of one core, <= 5 ms CPU per collection) and the start
time of ``watchkeeper --help`` (goal < 0.3 s).

    .venv/bin/python bench/system.py [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

from watchkeeper.exposition import generate_latest
from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.metrics.runtime import GCCollector, PlatformCollector, ProcessCollector
from watchkeeper.system import HostCollector

# node_exporter's collectors that cover what HostCollector exports, for a like-for-like line.
MATCHING_COLLECTORS = ("cpu", "stat", "loadavg", "meminfo", "filesystem", "diskstats",
                       "netdev", "netclass", "netstat", "vmstat", "pressure", "sockstat",
                       "filefd", "os", "uname", "time")


def median_seconds(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process) per call."""
    walls, cpus = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
    return statistics.median(walls), statistics.median(cpus)


def our_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(HostCollector())
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rpartition(b")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Our collectors behind our /metrics server, in a process of their own like node_exporter.
OUR_SERVER = """
import sys, time
sys.path.insert(0, {bench!r})
from system import our_registry
from watchkeeper.exposition import start_http_server
start_http_server({port}, registry=our_registry(), disable_compression=True)
while True:
    time.sleep(3600)
"""


class Exporter:
    """An exporter process on 127.0.0.1 for the length of a ``with`` block."""

    def __init__(self, args: list[str], port: int) -> None:
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}/metrics"

    @classmethod
    def node_exporter(cls, binary: str, collectors: tuple[str, ...] = ()) -> Exporter:
        port = free_port()
        args = [binary, f"--web.listen-address=127.0.0.1:{port}"]
        if collectors:
            args += ["--collector.disable-defaults", *(f"--collector.{c}" for c in collectors)]
        return cls(args, port)

    @classmethod
    def ours(cls) -> Exporter:
        port = free_port()
        code = OUR_SERVER.format(bench=os.path.dirname(os.path.abspath(__file__)), port=port)
        return cls([sys.executable, "-c", code], port)

    def __enter__(self) -> Exporter:
        for _ in range(100):
            try:
                self.scrape()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"nothing answers on {self.url}")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    def scrape(self) -> bytes:
        with urllib.request.urlopen(self.url, timeout=10) as response:
            return response.read()

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.proc.pid)


def interleaved_scrapes(exporters: list[Exporter], runs: int) -> list[tuple[float, float]]:
    """(median wall seconds, exporter CPU seconds) per scrape for each exporter.

    Scrapes take turns, so a burst of load from elsewhere on the machine falls on all alike.
    """
    walls: list[list[float]] = [[] for _ in exporters]
    cpu_before = [e.cpu_seconds() for e in exporters]
    for _ in range(runs):
        for i, exporter in enumerate(exporters):
            start = time.perf_counter()
            exporter.scrape()
            walls[i].append(time.perf_counter() - start)
    return [(statistics.median(w), (e.cpu_seconds() - c) / runs)
            for w, e, c in zip(walls, exporters, cpu_before, strict=True)]


def startup_seconds(argv: list[str], runs: int = 11) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def line(label: str, ours: float, anchor: float, unit: str = "ms") -> float:
    scale = 1000.0 if unit == "ms" else 1.0
    ratio = ours / anchor if anchor else float("inf")
    print(f"{label:<60} ours {ours * scale:8.3f} {unit}  anchor {anchor * scale:8.3f} {unit}"
          f"  ratio {ratio:6.3f}")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--scrapes", type=int, default=100)
    args = parser.parse_args()

    registry = our_registry()
    collect_wall, collect_cpu = median_seconds(lambda: list(registry.collect()), args.runs)
    render_wall, render_cpu = median_seconds(lambda: generate_latest(registry), args.runs)
    print(f"one host+process collection, median of {args.runs}: "
          f"{collect_wall * 1e3:.3f} ms wall, {collect_cpu * 1e3:.3f} ms CPU")
    print(f"  with rendering to text 0.0.4: {render_wall * 1e3:.3f} ms wall, "
          f"{render_cpu * 1e3:.3f} ms CPU -> at a 1 s interval "
          f"{render_cpu * 100:.3f}% of one core (goal <= 0.5%, <= 5 ms CPU)")

    wk = shutil.which("watchkeeper") or os.path.join(os.path.dirname(sys.executable),
                                                     "watchkeeper")
    help_time = startup_seconds([wk, "--help"])
    bare_python = startup_seconds([sys.executable, "-c", "pass"])
    print(f"watchkeeper --help start: {help_time * 1e3:.1f} ms (goal < 300 ms; "
          f"bare python -c pass {bare_python * 1e3:.1f} ms)")

    binary = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
    if not os.path.exists(binary):
        print("node_exporter is not installed: no anchor, no ratio")
        return
    with (Exporter.ours() as ours,
          Exporter.node_exporter(binary, MATCHING_COLLECTORS) as same,
          Exporter.node_exporter(binary) as defaults):
        (our_wall, our_cpu), *anchors = interleaved_scrapes([ours, same, defaults],
                                                            args.scrapes)
    print(f"our /metrics server, median of {args.scrapes} HTTP scrapes: "
          f"{our_wall * 1e3:.3f} ms wall, {our_cpu * 1e3:.3f} ms CPU in the exporter")
    ratios = []
    for label, (wall, cpu) in zip(("same collectors as ours", "node_exporter defaults"),
                                  anchors, strict=True):
        ratios.append(line(f"HTTP scrape wall, {label}", our_wall, wall))
        ratios.append(line(f"exporter CPU per scrape, {label}", our_cpu, cpu))
    print(f"worst ratio ours/node_exporter: {max(ratios):.3f}")


if __name__ == "__main__":
    main()
