"""One scrape over many workers: sums, gauge modes, custom collectors, damaged files."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from multiproc import run_in_child
from peers import require_binary
from watchkeeper.exposition import generate_latest
from watchkeeper.metrics.family import CounterMetricFamily
from watchkeeper.metrics.multiprocess import MultiProcessCollector, values
from watchkeeper.metrics.multiprocess.collector import DAMAGED_FILES_METRIC
from watchkeeper.metrics.multiprocess.files import file_name
from watchkeeper.metrics.registry import CollectorRegistry


def registry_for(path, compact_dead: bool = False) -> CollectorRegistry:
    """A scrape; by default without compacting exited workers, to see how files merge."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(path), compact_dead=compact_dead)
    return registry


def record_request(seconds: float, status: str = "200") -> None:
    """What instrumented code does per request: a counter and a histogram."""
    values.open_value("counter", "requests", "requests_total", ["status"], [status],
                      "Requests.").inc(1)
    for le in ("0.1", "1.0", "+Inf"):
        bound = float(le)
        smallest = min(b for b in (0.1, 1.0, float("inf")) if seconds <= b)
        if bound == smallest:
            values.open_value("histogram", "latency", "latency_bucket", ["le"], [le],
                              "Latency.").inc(1)
    values.open_value("histogram", "latency", "latency_sum", [], [], "Latency.").inc(seconds)
    values.open_value("summary", "size", "size_count", [], [], "Sizes.").inc(1)
    values.open_value("summary", "size", "size_sum", [], [], "Sizes.").inc(100)


def test_counters_histograms_and_summaries_add_up_over_workers(mpdir):
    run_in_child(lambda: [record_request(0.05), record_request(0.5)])
    run_in_child(lambda: record_request(5.0, "500"))
    record_request(0.05)
    r = registry_for(mpdir)
    assert r.get_sample_value("requests_total", {"status": "200"}) == 3
    assert r.get_sample_value("requests_total", {"status": "500"}) == 1
    assert r.get_sample_value("latency_bucket", {"le": "0.1"}) == 2
    assert r.get_sample_value("latency_bucket", {"le": "1.0"}) == 3
    assert r.get_sample_value("latency_bucket", {"le": "+Inf"}) == 4
    assert r.get_sample_value("latency_count") == 4
    assert r.get_sample_value("latency_sum") == pytest.approx(5.6)
    assert r.get_sample_value("size_count") == 4
    assert r.get_sample_value("size_sum") == 400


def gauge(mode: str):
    name = f"gauge_{mode}_mode"
    return values.open_value("gauge", name, name, [], [], "A gauge.", mode)


MODES = ("all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum",
         "mostrecent", "livemostrecent")


def test_gauges_follow_their_multiprocess_mode(mpdir):
    def first():
        for mode in MODES:
            gauge(mode).set(5)

    def second():
        time.sleep(0.01)  # a later wall-clock stamp for mostrecent
        for mode in MODES:
            gauge(mode).set(2)

    pids = [str(run_in_child(first)), str(run_in_child(second))]
    r = registry_for(mpdir)
    for mode in ("all", "liveall"):
        assert r.get_sample_value(f"gauge_{mode}_mode", {"pid": pids[0]}) == 5
        assert r.get_sample_value(f"gauge_{mode}_mode", {"pid": pids[1]}) == 2
    for mode, expected in (("min", 2), ("max", 5), ("sum", 7), ("mostrecent", 2)):
        assert r.get_sample_value(f"gauge_{mode}_mode") == expected
        assert r.get_sample_value(f"gauge_live{mode}_mode") == expected


def test_custom_collector_on_the_same_registry_still_works(mpdir):
    class Queue:
        def collect(self):
            yield CounterMetricFamily("queue_jobs", "Jobs seen by the queue.", value=42)

    record_request(0.05)
    registry = registry_for(mpdir)
    registry.register(Queue())
    text = generate_latest(registry).decode()
    assert "queue_jobs_total 42.0" in text
    assert 'requests_total{status="200"} 1.0' in text


def test_empty_directory_scrapes_cleanly(mpdir):
    assert registry_for(mpdir).get_sample_value(DAMAGED_FILES_METRIC) == 0


def test_collector_needs_an_existing_directory(tmp_path, monkeypatch):
    for var in values.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(None)
    with pytest.raises(ValueError):
        MultiProcessCollector(None, str(tmp_path / "missing"))


def test_half_written_and_garbage_files_never_break_the_scrape(mpdir):
    def worker():
        for i in range(50):
            values.open_value("counter", "jobs", "jobs_total", ["n"], [str(i)], "J.").inc(1)

    truncated = mpdir / file_name("counter", "", str(run_in_child(worker)))
    intact = mpdir / file_name("counter", "", str(run_in_child(worker)))
    used = int.from_bytes(truncated.read_bytes()[8:16], "little")
    truncated.write_bytes(truncated.read_bytes()[: used // 2])  # cut mid-way, as by a crash
    (mpdir / file_name("counter", "", "999999")).write_bytes(os.urandom(5000))
    (mpdir / file_name("gauge", "all", "999998")).write_bytes(b"")
    flipped = bytearray(intact.read_bytes())
    flipped[40] ^= 0xFF  # corrupt the first entry's key: only that entry is lost
    intact.write_bytes(bytes(flipped))

    r = registry_for(mpdir)
    assert r.get_sample_value("jobs_total", {"n": "49"}) == 1  # intact file, later entry
    assert r.get_sample_value("jobs_total", {"n": "1"}) == 2  # both files hold entry 1
    assert r.get_sample_value(DAMAGED_FILES_METRIC) == 4
    assert "jobs_total" in generate_latest(r).decode()


def test_files_of_other_programs_are_ignored(mpdir):
    (mpdir / "counter_123.db").write_bytes(b"prometheus_client's format")
    (mpdir / "notes.txt").write_text("hello")
    record_request(0.05)
    r = registry_for(mpdir, compact_dead=True)
    assert r.get_sample_value("requests_total", {"status": "200"}) == 1
    assert r.get_sample_value(DAMAGED_FILES_METRIC) == 0


def test_promtool_accepts_the_merged_output(mpdir):
    promtool = require_binary("promtool")
    for mode in MODES:
        gauge(mode).set(1)
    run_in_child(lambda: record_request(0.5))
    record_request(0.05, "500")
    text = generate_latest(registry_for(mpdir, compact_dead=True))
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()


def test_a_kept_collector_sees_new_series_changed_values_and_removed_files(mpdir):
    registry = registry_for(mpdir)
    jobs = values.open_value("counter", "jobs", "jobs_total", ["n"], ["0"], "J.")
    jobs.inc(1)
    assert registry.get_sample_value("jobs_total", {"n": "0"}) == 1
    jobs.inc(1)
    later = values.open_value("counter", "jobs", "jobs_total", ["n"], ["1"], "J.")
    later.inc(5)
    assert registry.get_sample_value("jobs_total", {"n": "0"}) == 2
    assert registry.get_sample_value("jobs_total", {"n": "1"}) == 5
    run_in_child(lambda: values.open_value("gauge", "t", "t", [], [], "T.", "max").set(9))
    assert registry.get_sample_value("t") == 9
    for name in os.listdir(mpdir):
        if name.startswith("gauge_"):
            os.unlink(mpdir / name)
    assert registry.get_sample_value("t") is None
    assert registry.get_sample_value("jobs_total", {"n": "1"}) == 5


def test_header_claiming_a_huge_file_is_read_as_far_as_it_goes(mpdir):
    values.open_value("counter", "jobs", "jobs_total", [], [], "J.").inc(3)
    (own,) = [p for p in mpdir.iterdir() if p.suffix == ".wkm"]
    lying = bytearray(own.read_bytes())
    lying[8:16] = (2**62).to_bytes(8, "little")
    (mpdir / file_name("counter", "", "999999")).write_bytes(bytes(lying))
    r = registry_for(mpdir)
    assert r.get_sample_value("jobs_total") == 6
    assert r.get_sample_value(DAMAGED_FILES_METRIC) == 1


def test_exited_workers_are_compacted_by_the_scrape_itself(mpdir):
    """No child-exit hook (uvicorn --workers has none): the scrape folds dead workers in."""
    def worker():
        record_request(0.5)
        gauge("livesum").set(1)
        gauge("max").set(3)

    for _ in range(3):
        run_in_child(worker)
    gauge("livesum").set(1)  # this process is alive and holds its files
    (mpdir / file_name("counter", "", "999999")).write_bytes(b"not a value file")
    r = registry_for(mpdir, compact_dead=True)
    assert r.get_sample_value("requests_total", {"status": "200"}) == 3
    assert r.get_sample_value("latency_count") == 3
    assert r.get_sample_value("gauge_livesum_mode") == 1  # only the live process
    assert r.get_sample_value("gauge_max_mode") == 3
    assert r.get_sample_value(DAMAGED_FILES_METRIC) == 1  # the garbage, set aside
    own = str(os.getpid())
    left = sorted(n for n in os.listdir(mpdir) if n.endswith(".wkm"))
    assert left and all(n.endswith(f"_{own}.wkm") for n in left)


def test_an_entry_unreadable_at_one_scrape_gets_a_second_look(mpdir):
    """A key caught mid-write (or torn) is not dropped for good after a single look."""
    for n in ("a", "b", "c"):
        values.open_value("counter", "jobs", "jobs_total", ["n"], [n], "J.").inc(1)
    other = mpdir / file_name("counter", "", "999999")  # a dead worker's copy
    good = (mpdir / file_name("counter", "", str(os.getpid()))).read_bytes()
    broken = bytearray(good)
    broken[40] ^= 0xFF  # inside the first entry's key
    other.write_bytes(bytes(broken))
    first = snapshot(registry_for(mpdir))  # one scrape
    assert first[("jobs_total", (("n", "a"),))] == 1  # only ours
    assert first[("jobs_total", (("n", "b"),))] == 2  # later entries are read
    assert first[(DAMAGED_FILES_METRIC, ())] == 1
    other.write_bytes(good)  # whole by the next scrape
    second = snapshot(registry_for(mpdir))
    assert second[("jobs_total", (("n", "a"),))] == 2
    assert second[(DAMAGED_FILES_METRIC, ())] == 0


def snapshot(registry) -> dict:
    """Every sample of exactly one scrape."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in registry.collect() for s in fam.samples}
