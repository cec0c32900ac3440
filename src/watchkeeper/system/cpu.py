"""CPU seconds per core and mode, load averages, and the kernel counters of /proc/stat.

Names, help and labels are node_exporter's ``cpu``, ``loadavg`` and ``stat`` collectors',
so dashboards built for node_exporter read these unchanged. On Linux /proc/stat is read
directly (one small file, no per-core syscalls); elsewhere psutil answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from watchkeeper.metrics.family import CounterMetricFamily, GaugeMetricFamily, Metric, Sample

from ._families import single

# The order of the columns of a ``cpuN`` line in /proc/stat.
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
_STAT_COUNTERS = {
    "ctxt": ("node_context_switches_total", "Total number of context switches."),
    "intr": ("node_intr_total", "Total number of interrupts serviced."),
    "processes": ("node_forks_total", "Total number of forks."),
}
_STAT_GAUGES = {
    "procs_running": ("node_procs_running", "Number of processes in runnable state."),
    "procs_blocked": (
        "node_procs_blocked", "Number of processes blocked waiting for I/O to complete."),
}


def _clock_ticks() -> float:
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError, AttributeError):
        return 100.0


class CPUCollector:
    """``node_cpu_seconds_total{cpu,mode}``, ``node_cpu_guest_seconds_total``, ``node_load*``."""

    def __init__(self, procfs: str = "/proc") -> None:
        self._stat_path = os.path.join(procfs, "stat")
        self._ticks = _clock_ticks()
        self._use_procfs = os.path.exists(self._stat_path)

    def collect(self) -> Iterator[Metric]:
        seconds = CounterMetricFamily(
            "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.",
            labels=["cpu", "mode"])
        if self._use_procfs:
            yield from self._from_procfs(seconds)
        else:
            yield from self._from_psutil(seconds)
        yield from _load_averages()

    def _from_procfs(self, seconds: CounterMetricFamily) -> Iterator[Metric]:
        guest = CounterMetricFamily(
            "node_cpu_guest_seconds_total",
            "Seconds the CPUs spent in guests (VMs) for each mode.", labels=["cpu", "mode"])
        ticks = self._ticks
        counters: list[Metric] = []
        gauges: list[Metric] = []
        with open(self._stat_path, "rb") as f:
            lines = f.read().split(b"\n")
        add, add_guest = seconds.samples.append, guest.samples.append
        for line in lines:
            if line.startswith(b"cpu") and line[3:4] != b" ":
                parts = line.split()
                cpu = parts[0][3:].decode()
                for mode, raw in zip(CPU_MODES, parts[1:9], strict=False):
                    add(Sample("node_cpu_seconds_total", {"cpu": cpu, "mode": mode},
                               int(raw) / ticks))
                if len(parts) >= 11:
                    add_guest(Sample("node_cpu_guest_seconds_total",
                                     {"cpu": cpu, "mode": "nice"}, int(parts[10]) / ticks))
                    add_guest(Sample("node_cpu_guest_seconds_total",
                                     {"cpu": cpu, "mode": "user"}, int(parts[9]) / ticks))
                continue
            key, _, rest = line.partition(b" ")
            name = key.decode()
            if name in _STAT_COUNTERS:
                metric, doc = _STAT_COUNTERS[name]
                counters.append(single(metric, doc, "counter", float(rest.split()[0])))
            elif name in _STAT_GAUGES:
                metric, doc = _STAT_GAUGES[name]
                gauges.append(single(metric, doc, "gauge", float(rest)))
        yield seconds
        if guest.samples:
            yield guest
        yield from counters
        yield from gauges

    def _from_psutil(self, seconds: CounterMetricFamily) -> Iterator[Metric]:
        import psutil

        for cpu, times in enumerate(psutil.cpu_times(percpu=True)):
            for mode in CPU_MODES:
                value = getattr(times, mode, None)
                if value is not None:
                    seconds.add_metric((str(cpu), mode), float(value))
        yield seconds
        stats = psutil.cpu_stats()
        yield CounterMetricFamily(*_STAT_COUNTERS["ctxt"], value=float(stats.ctx_switches))
        yield CounterMetricFamily(*_STAT_COUNTERS["intr"], value=float(stats.interrupts))


def _load_averages() -> Iterator[Metric]:
    try:
        load1, load5, load15 = os.getloadavg()
    except (OSError, AttributeError):
        return
    yield GaugeMetricFamily("node_load1", "1m load average.", value=load1)
    yield GaugeMetricFamily("node_load5", "5m load average.", value=load5)
    yield GaugeMetricFamily("node_load15", "15m load average.", value=load15)
