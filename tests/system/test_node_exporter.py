"""Our host families against a real node_exporter scraping the same machine."""

import subprocess
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from peers import free_port, require_binary
from watchkeeper.exposition import generate_latest
from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.system import HostCollector
from watchkeeper.system.filesystem import MOUNT_POINTS_EXCLUDE

pytestmark = pytest.mark.peer

# Families whose values move fast or are sampled at another instant.
VOLATILE = ("node_time_seconds", "node_load", "node_procs_", "node_context_switches",
            "node_intr", "node_forks", "node_memory_", "node_cpu_", "node_disk_",
            "node_network_", "node_filesystem_free", "node_filesystem_avail",
            "node_filesystem_files_free", "node_netstat_", "node_vmstat_", "node_pressure_",
            "node_sockstat_", "node_filefd_")


def _samples(text: str) -> dict[str, dict[tuple, float]]:
    out: dict[str, dict[tuple, float]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


@pytest.fixture(scope="module")
def node_exporter_text():
    binary = require_binary("prometheus-node-exporter")
    port = free_port()
    # Debian's package changes the mount point default; pin upstream's so both agree.
    proc = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}",
         f"--collector.filesystem.mount-points-exclude={MOUNT_POINTS_EXCLUDE}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    yield r.read().decode()
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail("node_exporter did not answer")
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def ours_text():
    reg = CollectorRegistry()
    reg.register(HostCollector())
    return generate_latest(reg).decode()


def test_every_node_family_exists_in_node_exporter_with_same_labels(node_exporter_text,
                                                                    ours_text):
    theirs, ours = _samples(node_exporter_text), _samples(ours_text)
    node_names = [n for n in ours if n.startswith("node_")]
    assert len(node_names) > 50
    for name in node_names:
        assert name in theirs, f"{name} is not a node_exporter name"
        their_labels = {tuple(k for k, _ in key) for key in theirs[name]}
        our_labels = {tuple(k for k, _ in key) for key in ours[name]}
        assert our_labels == their_labels, name


def test_series_and_values_agree(node_exporter_text, ours_text):
    theirs, ours = _samples(node_exporter_text), _samples(ours_text)
    for name, series in ours.items():
        if not name.startswith("node_"):
            continue
        if name.startswith(("node_filesystem_", "node_disk_", "node_cpu_seconds",
                            "node_uname", "node_boot")):
            assert set(series) == set(theirs[name]), name
        for key, value in series.items():
            if key not in theirs[name]:
                continue
            other = theirs[name][key]
            if name.startswith(VOLATILE):
                # Sampled a moment apart on a machine other work shares.
                slack = 2.0**27 if name.startswith("node_memory_") else 1e6
                assert abs(value - other) <= max(0.1 * abs(other), slack), (name, key)
            else:
                assert value == other, (name, key)


def test_exact_memtotal_and_file_system_sizes(node_exporter_text, ours_text):
    theirs, ours = _samples(node_exporter_text), _samples(ours_text)
    assert ours["node_memory_MemTotal_bytes"] == theirs["node_memory_MemTotal_bytes"]
    assert ours["node_filesystem_size_bytes"] == theirs["node_filesystem_size_bytes"]
