import os
import time

from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.system.node import NodeCollector


def test_uname_boot_and_clock():
    reg = CollectorRegistry()
    reg.register(NodeCollector())
    u = os.uname()
    fam = next(f for f in reg.collect() if f.name == "node_uname_info")
    labels = fam.samples[0].labels
    assert (labels["sysname"], labels["release"], labels["nodename"]) == (
        u.sysname, u.release, u.nodename)
    with open("/proc/stat") as f:
        btime = next(float(line.split()[1]) for line in f if line.startswith("btime"))
    assert reg.get_sample_value("node_boot_time_seconds") == btime
    before = time.time()
    now = reg.get_sample_value("node_time_seconds")
    assert before <= now <= time.time()


def test_uname_without_os_uname_gives_the_same_fields():
    from watchkeeper.system.node import _platform_uname

    assert _platform_uname() == os.uname()
