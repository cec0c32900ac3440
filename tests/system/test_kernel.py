from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.system.kernel import KernelCollector
from watchkeeper.system.netstat import NetstatCollector, parse_header_pairs, parse_snmp6
from watchkeeper.system.node import NodeCollector, os_version_number, parse_os_release


def _registry(collector) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(collector)
    return reg


def _vmstat(field: str) -> int:
    with open("/proc/vmstat") as f:
        return next(int(line.split()[1]) for line in f if line.split()[0] == field)


def test_filefd_maximum_and_page_faults_agree_with_proc():
    reg = _registry(KernelCollector())
    with open("/proc/sys/fs/file-nr") as f:
        maximum = float(f.read().split()[2])
    assert reg.get_sample_value("node_filefd_maximum") == maximum
    before = _vmstat("pgfault")
    ours = reg.get_sample_value("node_vmstat_pgfault")
    assert before <= ours <= _vmstat("pgfault")
    assert reg.get_sample_value("node_vmstat_nr_free_pages") is None  # not a default field


def test_sockstat_memory_is_also_given_in_bytes():
    import os

    reg = _registry(KernelCollector())
    pages = reg.get_sample_value("node_sockstat_TCP_mem")
    assert reg.get_sample_value("node_sockstat_TCP_mem_bytes") == pages * os.sysconf(
        "SC_PAGESIZE")


def test_netstat_parsers_and_default_field_selection():
    pairs = parse_header_pairs("Tcp: ActiveOpens CurrEstab MaxConn\nTcp: 5 2 -1\n")
    assert pairs == {("Tcp", "ActiveOpens"): "5", ("Tcp", "CurrEstab"): "2",
                     ("Tcp", "MaxConn"): "-1"}
    assert parse_snmp6("Ip6InOctets   560\nUdpLite6InErrors 0\n") == {
        ("Ip6", "InOctets"): "560", ("UdpLite6", "InErrors"): "0"}
    names = {f.name for f in NetstatCollector().collect()}
    assert "node_netstat_Tcp_CurrEstab" in names
    assert "node_netstat_Tcp_MaxConn" not in names


def test_os_release_as_node_exporter_labels(tmp_path):
    release = tmp_path / "os-release"
    release.write_text('NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n'
                       "PRETTY_NAME='Ubuntu 22.04.3 LTS'\n# comment\n")
    fams = {f.name: f for f in NodeCollector(os_release_files=(str(release),)).collect()}
    info = fams["node_os_info"].samples[0].labels
    assert info["pretty_name"] == "Ubuntu 22.04.3 LTS" and info["variant"] == ""
    version = fams["node_os_version"].samples[0]
    assert version.labels == {"id": "ubuntu", "id_like": "debian", "name": "Ubuntu"}
    assert version.value == 22.04
    assert parse_os_release("A=\"unterminated\n") == {}
    assert os_version_number("12") == 12 and os_version_number("rolling") is None


@given(st.text(max_size=400))
def test_kernel_text_parsers_never_raise(text):
    for (protocol, field), value in {**parse_header_pairs(text), **parse_snmp6(text)}.items():
        assert protocol and field and isinstance(value, str)
    for key, value in parse_os_release(text).items():
        assert isinstance(key, str) and isinstance(value, str)
    os_version_number(text)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"),
               max_size=60))
def test_os_release_values_round_trip_through_shell_quoting(value):
    # os-release(5) values are single-line shell strings.
    import shlex

    assert parse_os_release(f"NAME={shlex.quote(value)}\n").get("name", "") == value
