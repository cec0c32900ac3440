from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.system import HostCollector


def test_host_collector_registers_and_yields_every_area():
    reg = CollectorRegistry(auto_describe=True)
    reg.register(HostCollector())
    names = {f.name for f in reg.collect()}
    for name in ("node_cpu_seconds", "node_memory_MemTotal_bytes",
                 "node_filesystem_size_bytes", "node_disk_read_bytes",
                 "node_network_receive_bytes", "node_boot_time_seconds", "node_uname_info",
                 "node_time_seconds", "node_load1"):
        assert name in names


def test_one_failing_part_does_not_cost_the_scrape():
    host = HostCollector()

    class Broken:
        def collect(self):
            raise OSError("gone")

    host.parts.insert(0, Broken())
    assert any(f.name == "node_load1" for f in host.collect())
