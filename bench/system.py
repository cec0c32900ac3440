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
                       "netdev", "uname", "time")


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


class NodeExporter:
    """node_exporter on 127.0.0.1 for the length of a ``with`` block."""

    def __init__(self, binary: str, collectors: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        args = [binary, f"--web.listen-address=127.0.0.1:{self.port}"]
        if collectors:
            args += ["--collector.disable-defaults", *(f"--collector.{c}" for c in collectors)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}/metrics"

    def __enter__(self) -> NodeExporter:
        for _ in range(100):
            try:
                self.scrape()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("node_exporter did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    def scrape(self) -> bytes:
        with urllib.request.urlopen(self.url, timeout=10) as response:
            return response.read()

    def measure(self, runs: int) -> tuple[float, float]:
        """(median wall seconds per scrape, node_exporter's own CPU seconds per scrape)."""
        cpu_before = process_cpu_seconds(self.proc.pid)
        wall, _ = median_seconds(self.scrape, runs)
        cpu = (process_cpu_seconds(self.proc.pid) - cpu_before) / runs
        return wall, cpu


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
    print(f"{label:<52} ours {ours * scale:8.3f} {unit}  anchor {anchor * scale:8.3f} {unit}"
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
    ratios = []
    with NodeExporter(binary, MATCHING_COLLECTORS) as ne:
        wall, cpu = ne.measure(args.scrapes)
    ratios.append(line("scrape wall, same collectors as ours", render_wall, wall))
    ratios.append(line("CPU per collection, same collectors as ours", render_cpu, cpu))
    with NodeExporter(binary) as ne:
        wall, cpu = ne.measure(args.scrapes)
    ratios.append(line("scrape wall, node_exporter defaults", render_wall, wall))
    ratios.append(line("CPU per collection, node_exporter defaults", render_cpu, cpu))
    print(f"worst ratio ours/node_exporter: {max(ratios):.3f}")


if __name__ == "__main__":
    main()
