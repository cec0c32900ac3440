"""mark_process_dead: dead workers are folded into one file, counted once, crash or not."""

from __future__ import annotations

import os
import random
import shutil
import signal
import threading
import time

import pytest

from multiproc import run_in_child, scrape
from watchkeeper.metrics.multiprocess import MultiProcessCollector, mark_process_dead, values
from watchkeeper.metrics.multiprocess.aggregate import AGGREGATE_NAME
from watchkeeper.metrics.multiprocess.collector import DAMAGED_FILES_METRIC
from watchkeeper.metrics.multiprocess.compact import compact_dead_workers
from watchkeeper.metrics.multiprocess.files import SUFFIX, file_name
from watchkeeper.metrics.registry import CollectorRegistry


def scrape_quiet(path):
    """A scrape that leaves compaction to the explicit calls under test."""
    return scrape(path, compact_dead=False)


def worker(series: int = 3, amount: float = 1):
    def work():
        for i in range(series):
            values.open_value("counter", "jobs", "jobs_total", ["kind"], [f"k{i}"],
                              "Jobs.").inc(amount)
        values.open_value("histogram", "lat", "lat_bucket", ["le"], ["+Inf"], "L.").inc(1)
        values.open_value("histogram", "lat", "lat_sum", [], [], "L.").inc(0.25)
        values.open_value("gauge", "busy", "busy", [], [], "Busy.", "livesum").set(1)
        values.open_value("gauge", "peak", "peak", [], [], "Peak.", "max").set(amount)
        values.open_value("gauge", "seen", "seen", [], [], "Seen.", "all").set(amount)
    return work


def value_files(path) -> list[str]:
    return sorted(n for n in os.listdir(path) if n.endswith(SUFFIX))


def test_hundred_dead_workers_fold_into_one_file(mpdir):
    pids = [run_in_child(worker(amount=i)) for i in range(1, 101)]
    before = scrape_quiet(mpdir)
    expected = sum(range(1, 101))
    assert before.get_sample_value("jobs_total", {"kind": "k2"}) == expected
    for pid in pids:
        mark_process_dead(pid)
    assert value_files(mpdir) == []
    after = scrape_quiet(mpdir)
    for kind in ("k0", "k1", "k2"):
        assert after.get_sample_value("jobs_total", {"kind": kind}) == expected
    assert after.get_sample_value("lat_count") == 100
    assert after.get_sample_value("lat_sum") == 25
    assert after.get_sample_value("peak") == 100  # max over dead workers is kept
    assert after.get_sample_value("busy") is None  # live gauges leave with their worker
    assert after.get_sample_value("seen", {"pid": str(pids[41])}) == 42  # 'all' keeps pids


def test_live_workers_and_the_aggregate_add_up(mpdir):
    dead = run_in_child(worker(amount=5))
    mark_process_dead(dead)
    run_in_child(worker(amount=2))  # exited but not yet marked dead
    worker(amount=1)()  # this process, alive
    r = scrape_quiet(mpdir)
    assert r.get_sample_value("jobs_total", {"kind": "k0"}) == 8
    assert r.get_sample_value("busy") == 2  # the dead one's live gauge is gone
    assert r.get_sample_value("peak") == 5


def test_mark_process_dead_of_unknown_pid_changes_nothing(mpdir):
    run_in_child(worker())
    listing = value_files(mpdir)
    mark_process_dead(1)
    assert value_files(mpdir) == listing
    assert not (mpdir / AGGREGATE_NAME).exists()


def test_mark_process_dead_needs_a_directory(monkeypatch):
    for var in values.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR"):
        mark_process_dead(123)


def test_files_left_by_a_compaction_cut_short_are_not_counted_twice(mpdir):
    """Stopped after the new aggregate was renamed in, before the old files were deleted."""
    first, second = run_in_child(worker()), run_in_child(worker())
    kept = mpdir / "kept"
    kept.mkdir()
    first_file = file_name("counter", "", str(first))
    shutil.copy(mpdir / first_file, kept / first_file)
    mark_process_dead(first)
    shutil.copy(kept / first_file, mpdir / first_file)  # the unlink never happened
    assert scrape_quiet(mpdir).get_sample_value("jobs_total", {"kind": "k0"}) == 2
    mark_process_dead(second)  # the next compaction cleans up and still counts once
    assert not (mpdir / first_file).exists()
    assert value_files(mpdir) == []
    assert scrape_quiet(mpdir).get_sample_value("jobs_total", {"kind": "k0"}) == 2
    mark_process_dead(first)  # marking the same pid again is harmless
    assert scrape_quiet(mpdir).get_sample_value("jobs_total", {"kind": "k0"}) == 2


def test_temp_file_of_a_compaction_cut_before_the_rename_is_ignored(mpdir):
    pid = run_in_child(worker())
    (mpdir / f"{AGGREGATE_NAME}.tmp-4242").write_bytes(os.urandom(300))
    assert scrape_quiet(mpdir).get_sample_value("jobs_total", {"kind": "k0"}) == 1
    mark_process_dead(pid)
    assert scrape_quiet(mpdir).get_sample_value("jobs_total", {"kind": "k0"}) == 1


def test_compaction_killed_at_any_moment_counts_each_worker_once(mpdir):
    """SIGKILL a process while it compacts: every scrape afterwards still sees the total."""
    rng = random.Random(7)
    workers = 12
    for _round in range(4):
        pids = [run_in_child(worker(series=40)) for _ in range(workers)]
        compactor = os.fork()
        if compactor == 0:
            try:
                if _round % 2:
                    compact_dead_workers(str(mpdir))  # all at once, as a scrape does
                else:
                    for pid in pids:
                        mark_process_dead(pid)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, 0.05))
        os.kill(compactor, signal.SIGKILL)
        os.waitpid(compactor, 0)
        expected = workers * (_round + 1)
        assert scrape_quiet(mpdir).get_sample_value("jobs_total", {"kind": "k7"}) == expected
        for pid in pids:  # what the server does on its next child-exit hook
            mark_process_dead(pid)
        assert scrape_quiet(mpdir).get_sample_value("jobs_total", {"kind": "k7"}) == expected
    assert value_files(mpdir) == []


def test_scrapes_during_compactions_never_dip_or_double(mpdir):
    pids = [run_in_child(worker(series=20)) for _ in range(30)]
    registry = scrape_quiet(mpdir)
    seen: list[float | None] = []
    stop = threading.Event()

    def scrape_repeatedly():
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            seen.append(registry.get_sample_value("jobs_total", {"kind": "k3"}))

    scraper = threading.Thread(target=scrape_repeatedly)
    scraper.start()
    try:
        for pid in pids:
            mark_process_dead(pid)
    finally:
        stop.set()
        scraper.join()
    seen.append(registry.get_sample_value("jobs_total", {"kind": "k3"}))
    assert seen and set(seen) == {30}


def test_damaged_aggregate_is_set_aside_and_compaction_goes_on(mpdir):
    first = run_in_child(worker())
    (mpdir / AGGREGATE_NAME).write_bytes(b"WKAG" + os.urandom(100))
    r = scrape_quiet(mpdir)
    assert r.get_sample_value("jobs_total", {"kind": "k0"}) == 1
    assert r.get_sample_value(DAMAGED_FILES_METRIC) == 1
    mark_process_dead(first)
    assert any(n.startswith(f"{AGGREGATE_NAME}.damaged-") for n in os.listdir(mpdir))
    r = scrape_quiet(mpdir)
    assert r.get_sample_value("jobs_total", {"kind": "k0"}) == 1
    assert r.get_sample_value(DAMAGED_FILES_METRIC) == 1  # the set-aside copy stays visible


def test_one_scrape_compacts_every_exited_worker_without_any_hook(mpdir):
    pids = {str(run_in_child(worker(amount=2))) for _ in range(40)}
    worker(amount=1)()  # this process is alive: its files stay
    assert set(compact_dead_workers(str(mpdir))) == pids
    own = str(os.getpid())
    assert all(n.endswith(f"_{own}{SUFFIX}") for n in value_files(mpdir))
    r = CollectorRegistry()
    MultiProcessCollector(r, str(mpdir))  # compacts on scrape by default: nothing left
    assert r.get_sample_value("jobs_total", {"kind": "k0"}) == 81
    assert r.get_sample_value("busy") == 1
    assert r.get_sample_value("peak") == 2
    assert compact_dead_workers(str(mpdir)) == []
