from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.system.disk import DiskCollector, read_diskstats
from watchkeeper.system.network import NetworkCollector, read_netdev


def test_disk_bytes_are_sectors_times_512_between_two_reads():
    reg = CollectorRegistry()
    reg.register(DiskCollector())
    before = read_diskstats()
    assert before, "this host has at least one disk"
    device = next(iter(before))
    ours = reg.get_sample_value("node_disk_read_bytes_total", {"device": device})
    after = read_diskstats()
    assert before[device][2] * 512 <= ours <= after[device][2] * 512


def test_partitions_and_loop_devices_are_left_out():
    for device in read_diskstats():
        assert not device.startswith(("loop", "ram"))
        assert not (device[:2] in ("sd", "vd") and device[-1].isdigit())


def test_network_counters_between_two_reads_and_no_loopback():
    reg = CollectorRegistry()
    reg.register(NetworkCollector())
    before = read_netdev()
    assert "lo" not in before
    device = next(iter(before))
    ours = reg.get_sample_value("node_network_receive_bytes_total", {"device": device})
    after = read_netdev()
    assert before[device]["receive_bytes"] <= ours <= after[device]["receive_bytes"]
