import os

from watchkeeper.system.netclass import NetClassCollector


def _samples(collector) -> dict[str, dict[str, float]]:
    return {f.name: {s.labels["device"]: s.value for s in f.samples}
            for f in collector.collect()}


def test_mtu_and_up_agree_with_sysfs():
    fams = _samples(NetClassCollector())
    for device in os.listdir("/sys/class/net"):
        with open(f"/sys/class/net/{device}/mtu") as f:
            assert fams["node_network_mtu_bytes"][device] == int(f.read())
        with open(f"/sys/class/net/{device}/operstate") as f:
            assert fams["node_network_up"][device] == (f.read().strip() == "up")


def _fake_interface(root, name: str, **files: str) -> None:
    d = root / name
    d.mkdir(parents=True)
    for filename, content in files.items():
        (d / filename).write_text(content + "\n")


def test_unreadable_property_is_left_out_and_admin_properties_are_cached(tmp_path):
    _fake_interface(tmp_path, "eth9", operstate="down", mtu="9000", address="aa:bb",
                    flags="0x1003")
    collector = NetClassCollector(str(tmp_path), static_seconds=3600)
    fams = _samples(collector)
    assert fams["node_network_up"] == {"eth9": 0.0}
    assert fams["node_network_mtu_bytes"] == {"eth9": 9000.0}
    assert "node_network_carrier" not in fams  # no carrier file: no sample, no error
    (tmp_path / "eth9" / "mtu").write_text("1500\n")
    (tmp_path / "eth9" / "operstate").write_text("up\n")
    fams = _samples(collector)
    assert fams["node_network_up"] == {"eth9": 1.0}  # link state: every scrape
    assert fams["node_network_mtu_bytes"] == {"eth9": 9000.0}  # cached for a while
    assert _samples(NetClassCollector(str(tmp_path)))["node_network_mtu_bytes"] == {
        "eth9": 1500.0}


def test_info_labels_are_node_exporters(tmp_path):
    _fake_interface(tmp_path, "wg0", operstate="unknown", address="", ifalias="vpn")
    (info,) = [f for f in NetClassCollector(str(tmp_path)).collect()
               if f.name == "node_network_info"]
    assert info.samples[0].labels == {"address": "", "broadcast": "", "device": "wg0",
                                      "duplex": "", "ifalias": "vpn", "operstate": "unknown"}
