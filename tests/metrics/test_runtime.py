import asyncio
import subprocess
import sys

import prometheus_client
import pytest

from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.metrics.runtime import (
    EventLoopLagCollector,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)


def _theirs(cls) -> dict:
    reg = prometheus_client.CollectorRegistry()
    cls(registry=reg)
    return {(s.name, tuple(sorted(s.labels.items()))): (f.type, f.documentation, s.value)
            for f in reg.collect() for s in f.samples}


def _ours(cls) -> dict:
    reg = CollectorRegistry()
    cls(registry=reg)
    return {(s.name, tuple(sorted(s.labels.items()))): (f.type, f.documentation, s.value)
            for f in reg.collect() for s in f.samples}


@pytest.mark.parametrize(("ours", "theirs"), [
    (ProcessCollector, prometheus_client.ProcessCollector),
    (PlatformCollector, prometheus_client.PlatformCollector),
    (GCCollector, prometheus_client.GCCollector),
])
def test_same_samples_types_and_help_as_prometheus_client(ours, theirs):
    a, b = _ours(ours), _theirs(theirs)
    assert set(b) <= set(a)
    for key, (typ, doc, value) in b.items():
        assert a[key][:2] == (typ, doc), key
        if key[0] in ("python_info", "process_max_fds", "process_start_time_seconds"):
            assert a[key][2] == value, key


def test_process_figures_agree_with_prometheus_client():
    a, b = _ours(ProcessCollector), _theirs(prometheus_client.ProcessCollector)
    rss = ("process_resident_memory_bytes", ())
    assert abs(a[rss][2] - b[rss][2]) < 16 * 2**20
    cpu = ("process_cpu_seconds_total", ())
    assert abs(a[cpu][2] - b[cpu][2]) < 1.0
    assert a[("process_threads", ())][2] >= 1


def test_registered_on_the_default_registry_when_metrics_is_imported():
    code = ("import watchkeeper.metrics as m; names = {f.name for f in m.REGISTRY.collect()};"
            "print(sorted(names))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    for name in ("process_cpu_seconds", "process_resident_memory_bytes", "python_info",
                 "python_gc_collections"):
        assert f"'{name}'" in out


def test_instrumentation_import_needs_no_psutil():
    code = "import sys, watchkeeper.metrics; print('psutil' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_event_loop_lag_reported_only_while_a_loop_runs():
    lag = EventLoopLagCollector(interval=0.01, registry=None)
    assert list(lag.collect()) == []

    async def main() -> list:
        lag.watch()
        await asyncio.sleep(0.05)
        # Block the loop so the next tick is late.
        import time
        time.sleep(0.1)
        await asyncio.sleep(0.03)
        return list(lag.collect())

    (fam,) = asyncio.run(main())
    assert fam.name == "watchkeeper_event_loop_lag_seconds"
    assert fam.samples[0].value >= 0.05
    assert list(lag.collect()) == []


def test_a_scrape_inside_a_loop_starts_watching_it():
    lag = EventLoopLagCollector(interval=0.01, registry=None)

    async def main() -> list:
        list(lag.collect())
        await asyncio.sleep(0.05)
        return list(lag.collect())

    (fam,) = asyncio.run(main())
    assert fam.samples[0].value >= 0.0


def test_public_names_resolve_to_the_registered_collectors():
    import watchkeeper
    from watchkeeper.metrics.registry import REGISTRY

    assert isinstance(watchkeeper.PROCESS_COLLECTOR, watchkeeper.ProcessCollector)
    assert isinstance(watchkeeper.PLATFORM_COLLECTOR, watchkeeper.PlatformCollector)
    assert isinstance(watchkeeper.GC_COLLECTOR, watchkeeper.GCCollector)
    registered = REGISTRY.collectors()
    for collector in (watchkeeper.PROCESS_COLLECTOR, watchkeeper.PLATFORM_COLLECTOR,
                      watchkeeper.GC_COLLECTOR):
        assert collector in registered
