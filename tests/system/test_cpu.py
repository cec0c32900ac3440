import os

from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.system.cpu import CPU_MODES, CPUCollector

TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat_cpu0() -> dict[str, float]:
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu0 "):
                values = line.split()[1:9]
                return {m: int(v) / TICKS for m, v in zip(CPU_MODES, values, strict=True)}
    raise AssertionError("no cpu0 line")


def test_cpu_seconds_lie_between_two_reads_of_proc_stat():
    reg = CollectorRegistry()
    reg.register(CPUCollector())
    before = _proc_stat_cpu0()
    ours = {m: reg.get_sample_value("node_cpu_seconds_total", {"cpu": "0", "mode": m})
            for m in CPU_MODES}
    after = _proc_stat_cpu0()
    for mode in CPU_MODES:
        assert before[mode] <= ours[mode] <= after[mode], mode


def test_every_core_has_every_mode():
    fam = next(f for f in CPUCollector().collect() if f.name == "node_cpu_seconds")
    cpus = {s.labels["cpu"] for s in fam.samples}
    assert cpus == {str(i) for i in range(len(cpus))}
    assert len(fam.samples) == len(cpus) * len(CPU_MODES)


def test_load_averages_match_getloadavg_names():
    names = {f.name for f in CPUCollector().collect()}
    assert {"node_load1", "node_load5", "node_load15", "node_context_switches",
            "node_procs_running"} <= names
