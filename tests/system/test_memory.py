from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.metrics.family import GaugeMetricFamily
from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.system.memory import MemoryCollector, parse_meminfo


def _proc_meminfo() -> dict[str, list[str]]:
    with open("/proc/meminfo") as f:
        return {line.split(":")[0]: line.split(":")[1].split() for line in f}


def test_memtotal_equals_proc_meminfo_exactly():
    reg = CollectorRegistry()
    reg.register(MemoryCollector())
    kb = int(_proc_meminfo()["MemTotal"][0])
    assert reg.get_sample_value("node_memory_MemTotal_bytes") == kb * 1024


def test_every_meminfo_field_is_exported_with_node_exporter_naming():
    names = {f.name for f in MemoryCollector().collect()}
    for key, rest in _proc_meminfo().items():
        name = "node_memory_" + key.replace("(", "_").replace(")", "")
        if len(rest) > 1 and rest[1] == "kB":
            name += "_bytes"
        assert name in names


def test_parse_meminfo_units_and_parentheses():
    fields = parse_meminfo(b"Active(anon):     10 kB\nHugePages_Total:       3\n")
    assert fields == {"Active_anon_bytes": 10240.0, "HugePages_Total": 3.0}


@given(st.binary(max_size=300))
def test_parse_meminfo_never_raises_and_yields_valid_metric_names(data):
    for name in parse_meminfo(data):
        GaugeMetricFamily("node_memory_" + name, "fuzz", value=0.0)


@given(st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True),
                       st.integers(0, 2**50), max_size=8))
def test_well_formed_meminfo_lines_round_trip(fields):
    data = "".join(f"{k}: {v} kB\n" for k, v in fields.items()).encode()
    assert parse_meminfo(data) == {k + "_bytes": v * 1024.0 for k, v in fields.items()}
