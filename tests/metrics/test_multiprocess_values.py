"""Per-process values: what a worker writes is what a scrape in another process reads."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

from multiproc import run_in_child, scrape
from watchkeeper.metrics.multiprocess import MultiProcessCollector, mark_process_dead, values
from watchkeeper.metrics.multiprocess.files import file_name


def counter(name="jobs", labels=(), values_=()):
    return values.open_value("counter", name, name + "_total", labels, values_, "Jobs done.")


def test_directory_comes_from_either_variable_at_call_time(monkeypatch, tmp_path):
    for var in values.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    assert values.directory() is None
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/a")
    assert values.directory() == "/a"
    monkeypatch.setenv("WATCHKEEPER_MULTIPROC_DIR", "/b")
    assert values.directory() == "/b"


def test_open_value_refuses_bad_arguments(mpdir, monkeypatch):
    with pytest.raises(ValueError, match="info"):
        values.open_value("info", "x", "x", [], [], "")
    with pytest.raises(ValueError, match="multiprocess_mode"):
        values.open_value("gauge", "x", "x", [], [], "", multiprocess_mode="average")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(mpdir / "missing"))
    with pytest.raises(ValueError, match="does not exist"):
        counter()
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR"):
        counter()


def test_value_is_visible_to_a_scrape_and_to_get(mpdir):
    c = counter(labels=["queue"], values_=["mail"])
    c.inc(2)
    c.inc(0.5)
    g = values.open_value("gauge", "temp", "temp", [], [], "Temperature.", "liveall")
    g.set(21.5)
    assert c.get() == 2.5
    assert g.get() == 21.5
    registry = scrape(mpdir)
    assert registry.get_sample_value("jobs_total", {"queue": "mail"}) == 2.5
    assert registry.get_sample_value("temp", {"pid": str(os.getpid())}) == 21.5


def test_two_values_with_the_same_identity_share_the_number(mpdir):
    counter().inc(1)
    counter().inc(1)
    assert scrape(mpdir).get_sample_value("jobs_total") == 2


def test_eight_threads_lose_no_increment(mpdir):
    c = counter()

    def work():
        for _ in range(20_000):
            c.inc(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.get() == 160_000
    assert scrape(mpdir).get_sample_value("jobs_total") == 160_000


def test_forked_child_writes_its_own_file_and_starts_from_zero(mpdir):
    c = counter()
    c.inc(1)
    seen_in_child = []

    def child():
        seen_in_child.append(c.get())
        assert c.get() == 0  # the parent's 1 stays in the parent's file
        c.inc(10)
        assert os.path.exists(mpdir / file_name("counter", "", str(os.getpid())))

    child_pid = run_in_child(child)
    assert (mpdir / file_name("counter", "", str(child_pid))).exists()
    assert c.get() == 1
    assert scrape(mpdir).get_sample_value("jobs_total") == 11
    c.inc(1)  # the parent keeps writing its own file after the fork
    assert scrape(mpdir).get_sample_value("jobs_total") == 12


def test_file_grows_past_its_first_mapping(mpdir):
    created = [counter("wide", ["id"], [f"{i:04d}-" + "x" * 200]) for i in range(300)]
    for i, c in enumerate(created):
        c.inc(i)
    registry = scrape(mpdir)
    for i in (0, 1, 150, 299):
        label = f"{i:04d}-" + "x" * 200
        assert registry.get_sample_value("wide_total", {"id": label}) == i
    # values created before the growth still write through their older mapping
    created[0].inc(7)
    assert scrape(mpdir).get_sample_value("wide_total", {"id": "0000-" + "x" * 200}) == 7


def test_reused_pid_does_not_revive_a_compacted_file(mpdir):
    """A new worker that gets a dead worker's pid must not count that worker again."""

    def dead_worker():
        counter().inc(5)

    dead = run_in_child(dead_worker)
    dead_file = mpdir / file_name("counter", "", str(dead))
    kept = mpdir / "kept-copy"
    shutil.copy(dead_file, kept)
    mark_process_dead(dead)
    assert scrape(mpdir).get_sample_value("jobs_total") == 5

    def reusing_worker():
        # As if the kernel handed out the dead pid again and compaction had been cut off
        # before deleting the file: the same bytes sit under this process's name.
        shutil.copy(kept, mpdir / file_name("counter", "", str(os.getpid())))
        c = counter()
        assert c.get() == 0
        c.inc(1)

    run_in_child(reusing_worker)
    assert scrape(mpdir).get_sample_value("jobs_total") == 6


def test_public_import_paths_match_prometheus_clients():
    import watchkeeper
    import watchkeeper.multiprocess as alias

    assert alias.MultiProcessCollector is MultiProcessCollector
    assert alias.mark_process_dead is mark_process_dead
    assert watchkeeper.MultiProcessCollector is MultiProcessCollector
    assert watchkeeper.mark_process_dead is mark_process_dead


def test_fork_while_another_thread_is_incrementing_never_deadlocks_the_child(mpdir):
    """The value's lock may be held by a thread at the moment of fork; the child rebinds."""
    import multiprocessing

    c = counter()
    stop = threading.Event()
    done_by_thread = []

    def hammer():
        n = 0
        while not stop.is_set() and n < 5_000_000:
            c.inc(1)
            n += 1
        done_by_thread.append(n)

    def child():
        for _ in range(100):
            c.inc(1)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        procs = [multiprocessing.get_context("fork").Process(target=child) for _ in range(5)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
    finally:
        stop.set()
        thread.join()
    assert [p.exitcode for p in procs] == [0] * 5
    assert scrape(mpdir).get_sample_value("jobs_total") == done_by_thread[0] + 500
