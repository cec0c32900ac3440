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

# How far apart two readings a moment apart may be on a machine other work shares:
# (name prefix, relative, absolute); whichever is larger. Anything else must be equal.
TOLERANCE = (
    ("node_time_seconds", 0.0, 10.0),
    ("node_load", 0.2, 1.0),
    ("node_cpu_", 0.0, 5.0),
    ("node_pressure_", 0.0, 10.0),
    ("node_memory_", 0.05, 2.0**27),
    ("node_filesystem_free", 0.0, 2.0**28),
    ("node_filesystem_avail", 0.0, 2.0**28),
    ("node_filesystem_files_free", 0.0, 10_000.0),
    ("node_disk_", 0.1, 2.0**26),
    ("node_network_", 0.1, 2.0**24),
    ("node_netstat_", 0.1, 50_000.0),
    ("node_vmstat_", 0.1, 1_000_000.0),
    ("node_sockstat_", 0.5, 500.0),
    ("node_filefd_allocated", 0.5, 500.0),
    ("node_procs_", 0.0, 20.0),
    ("node_context_switches", 0.1, 1_000_000.0),
    ("node_intr", 0.1, 1_000_000.0),
    ("node_forks", 0.1, 10_000.0),
)


def _tolerance(name: str, expected: float) -> float | None:
    for prefix, relative, absolute in TOLERANCE:
        if name.startswith(prefix):
            return max(relative * abs(expected), absolute)
    return None


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
            tolerance = _tolerance(name, other)
            if tolerance is None:
                assert value == other, (name, key)
            else:
                assert abs(value - other) <= tolerance, (name, key, value, other)


def test_exact_memtotal_and_file_system_sizes(node_exporter_text, ours_text):
    theirs, ours = _samples(node_exporter_text), _samples(ours_text)
    assert ours["node_memory_MemTotal_bytes"] == theirs["node_memory_MemTotal_bytes"]
    assert ours["node_filesystem_size_bytes"] == theirs["node_filesystem_size_bytes"]
