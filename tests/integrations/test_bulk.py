"""Bulk operations: counts by result, errors kept, threads, ETA, stalls, scores, multiprocess."""

from __future__ import annotations

import logging
import os
import sys
import threading

import pytest

import watchkeeper
from multiproc import run_in_child, scrape
from watchkeeper import CollectorRegistry, generate_latest
from watchkeeper.exposition.parse import text_string_to_metric_families
from watchkeeper.health.model import Status
from watchkeeper.integrations.bulk import OPERATIONS, Operation
from watchkeeper.integrations.bulk_health import COLLECTOR, operation_score, stall_check
from watchkeeper.integrations.bulk_report import describe, wait_idle
from watchkeeper.integrations.scores import SCOREBOARD


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(autouse=True)
def _fresh():
    OPERATIONS.clear()
    yield
    wait_idle()
    OPERATIONS.clear()


def _samples(name: str) -> dict[tuple, float]:
    registry = CollectorRegistry()
    registry.register(COLLECTOR)
    out = {}
    for fam in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in fam.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_results_errors_and_item_ids_are_exported() -> None:
    with watchkeeper.bulk("import_users", total=10, report=None, errors_kept=3) as op:
        for i in range(10):
            if i % 3 == 0:
                op.fail(ValueError(f"row {i} has no email"), item=f"user-{i}")
            elif i == 5:
                op.skip()
            else:
                op.ok()
    items = _samples("watchkeeper_bulk_items_total")
    assert items[(("operation", "import_users"), ("result", "ok"))] == 5
    assert items[(("operation", "import_users"), ("result", "failed"))] == 4
    assert items[(("operation", "import_users"), ("result", "skipped"))] == 1
    errors = _samples("watchkeeper_bulk_errors_total")
    assert errors == {(("error_type", "ValueError"), ("operation", "import_users")): 4}
    kept = [(e.item, e.message) for e in op.errors]  # the last three
    assert kept == [("user-3", "row 3 has no email"), ("user-6", "row 6 has no email"),
                    ("user-9", "row 9 has no email")]
    assert _samples("watchkeeper_bulk_progress_ratio") == {(("operation", "import_users"),): 1}
    assert _samples("watchkeeper_bulk_running") == {(("operation", "import_users"),): 0}
    assert op.outcome == "completed"


def test_wrapping_an_iterable_counts_each_item_once() -> None:
    seen = []
    for x in watchkeeper.bulk("wrapped", range(6), report=None):
        seen.append(x)
    (op,) = [o for o in OPERATIONS.all() if o.name == "wrapped"]
    assert seen == list(range(6)) and op.total == 6 and op.counts()["ok"] == 6
    with watchkeeper.bulk("wrapped_fail", total=4, report=None) as op2:
        for x in op2.iter(range(4)):
            if x == 1:
                op2.fail("bad", item=x)
                continue
    assert op2.counts() == {"ok": 3, "failed": 1, "skipped": 0}


def test_an_exception_escaping_fails_the_item_in_hand_and_the_operation() -> None:
    with pytest.raises(KeyError), watchkeeper.bulk("crash", total=5, report=None) as op:
        for x in op.iter(range(5)):
            if x == 2:
                raise KeyError("missing")
    assert op.counts() == {"ok": 2, "failed": 1, "skipped": 0}
    assert op.outcome == "failed" and op.errors_by_type == {"KeyError": 1}
    assert operation_score(op).contributors["outcome"] == 50


def test_threads_add_into_one_operation_without_losing_items() -> None:
    with watchkeeper.bulk("threads", total=80_000, report=None) as op:
        def work() -> None:
            for _ in range(10_000):
                op.ok()
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert op.done == 80_000 and op.progress() == 1.0


def test_eta_at_half_way_under_a_constant_rate_is_within_ten_percent() -> None:
    clock = Clock()
    op = Operation("eta", total=10_000, clock=clock, rate_window=30)
    for _ in range(50):  # 100 items a second for 50 s, sampled each second
        clock.t += 1
        op.ok(100)
        op.sample()
    assert op.progress() == 0.5
    assert op.eta() == pytest.approx(50.0, rel=0.10)
    assert op.rate() == pytest.approx(100.0)


def test_the_rate_is_a_moving_average_over_the_window() -> None:
    clock = Clock()
    op = Operation("window", total=None, clock=clock, rate_window=10)
    for step in range(40):
        clock.t += 1
        op.ok(1000 if step < 20 else 10)
        op.sample()
    assert op.rate() == pytest.approx(10.0)  # the fast start has left the window
    assert op.eta() is None and op.progress() is None


def test_no_progress_for_stall_after_degrades_the_check_and_the_score() -> None:
    clock = Clock()
    op = watchkeeper.bulk("stuck", total=100, report=None, stall_after=30, clock=clock)
    op.ok(10)
    op.sample()
    clock.t += 5
    op.ok(10)
    op.sample()
    assert stall_check().status is Status.HEALTHY
    clock.t += 31
    op.sample()
    assert op.stalled()
    outcome = stall_check()
    assert outcome.status is Status.DEGRADED and "stuck" in outcome.details
    score = {(s.component, s.name): s for s in SCOREBOARD.scores()}[("bulk", "stuck")]
    assert score.worst == "stalled" and score.value <= 40
    assert _samples("watchkeeper_bulk_stalled") == {(("operation", "stuck"),): 1}
    op.ok()
    op.sample()
    assert not op.stalled() and stall_check().status is Status.HEALTHY
    op.finish()


def test_error_ratio_costs_points() -> None:
    op = Operation("errs", total=10)
    op.ok(8)
    op.fail(n=2)
    op.finish()
    score = operation_score(op)
    assert score.worst == "errors" and score.value == pytest.approx(60.0)


def test_a_log_line_every_interval_off_a_terminal(caplog) -> None:
    caplog.set_level(logging.INFO, "watchkeeper.bulk")
    with watchkeeper.bulk("logged", total=4, report="log") as op:
        op.ok(3)
        op.fail(RuntimeError("x"))
    wait_idle()
    lines = [r.getMessage() for r in caplog.records if r.name == "watchkeeper.bulk"]
    assert lines[-1].startswith("bulk logged: 4/4 (100%)") and "1 failed completed" in lines[-1]
    assert describe(op) == lines[-1]


def test_multiprocess_workers_add_into_one_operation(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    op = Operation("mp_import", total=300)

    def worker() -> None:
        w = Operation("mp_import")
        for _ in range(100):
            w.ok()
        w.fail(ValueError("bad"))
        w.finish()

    run_in_child(worker)
    run_in_child(worker)
    op.ok(98)
    assert op.done == 300 and op.failed == 2 and op.progress() == 1.0
    merged = {}
    for fam in scrape(tmp_path).collect():
        for s in fam.samples:
            if s.name == "watchkeeper_bulk_items_total":
                merged[s.labels["result"]] = s.value
    assert merged == {"ok": 298, "failed": 2}
    op.finish()


BAR_SCRIPT = """
import time, watchkeeper
with watchkeeper.bulk("bar_import", total=50) as op:
    for _ in range(50):
        op.ok()
        time.sleep(0.01)
"""


def test_a_rich_bar_on_a_terminal() -> None:
    pytest.importorskip("rich")
    import pty
    import subprocess

    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-c", BAR_SCRIPT], stdin=follower,
                            stdout=follower, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=30) == 0
    os.close(leader)
    text = out.decode(errors="replace")
    assert "bar_import" in text and "50/50" in text and "100%" in text
    assert "\x1b[" in text  # drawn with terminal control sequences
