"""Without /proc (macOS, BSD, Windows) the collectors answer from psutil, same names.

Pointing ``procfs`` at an empty directory takes that path on Linux too, so it runs here
against the real psutil and the real host.
"""

import psutil

from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.system.cpu import CPUCollector
from watchkeeper.system.disk import DiskCollector, read_diskstats
from watchkeeper.system.filesystem import FilesystemCollector
from watchkeeper.system.memory import MemoryCollector
from watchkeeper.system.network import NetworkCollector


def _registry(collector) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(collector)
    return reg


def test_cpu_seconds_from_psutil(tmp_path):
    reg = _registry(CPUCollector(str(tmp_path)))
    before = psutil.cpu_times(percpu=True)[0].user
    ours = reg.get_sample_value("node_cpu_seconds_total", {"cpu": "0", "mode": "user"})
    assert before <= ours <= psutil.cpu_times(percpu=True)[0].user
    assert reg.get_sample_value("node_load1") is not None


def test_memory_total_from_psutil(tmp_path):
    reg = _registry(MemoryCollector(str(tmp_path)))
    assert reg.get_sample_value("node_memory_MemTotal_bytes") == psutil.virtual_memory().total


def test_disk_and_network_from_psutil(tmp_path):
    disks = _registry(DiskCollector(str(tmp_path)))
    ours = {s.labels["device"]: s.value for f in disks.collect() for s in f.samples
            if s.name == "node_disk_reads_completed_total"}
    assert set(ours) == set(read_diskstats())  # partitions and loop devices left out
    for device, counters in psutil.disk_io_counters(perdisk=True).items():
        if device in ours:
            assert ours[device] <= counters.read_count
    nets = _registry(NetworkCollector(str(tmp_path)))
    names = {s.labels["device"] for f in nets.collect() for s in f.samples}
    assert names == set(psutil.net_io_counters(pernic=True)) - {"lo"}


def test_filesystems_from_psutil(tmp_path):
    fams = {f.name: f for f in FilesystemCollector(str(tmp_path)).collect()}
    mounts = {s.labels["mountpoint"] for s in fams["node_filesystem_size_bytes"].samples}
    assert "/" in mounts
