import subprocess

import pytest

from peers import require_binary
from watchkeeper.exposition import generate_latest
from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.metrics.runtime import (
    EventLoopLagCollector,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from watchkeeper.system import HostCollector

pytestmark = pytest.mark.peer


def test_promtool_accepts_the_whole_host_and_runtime_output():
    promtool = require_binary("promtool")
    reg = CollectorRegistry()
    reg.register(HostCollector())
    ProcessCollector(registry=reg)
    PlatformCollector(registry=reg)
    GCCollector(registry=reg)
    EventLoopLagCollector(registry=reg)
    text = generate_latest(reg)
    assert b"node_memory_MemTotal_bytes" in text and b"process_cpu_seconds_total" in text
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                            timeout=60)
    # Exit 1 is a parse failure; 3 means lint remarks only. The one remark allowed is the
    # case of kernel field names (node_memory_MemTotal_bytes, node_netstat_Tcp_InSegs),
    # which node_exporter's output draws too.
    assert result.returncode in (0, 3), result.stderr.decode()
    remarks = (result.stdout + result.stderr).decode().splitlines()
    for remark in remarks:
        assert remark.startswith(("node_memory_", "node_netstat_")), remark
        assert "camelCase" in remark, remark
