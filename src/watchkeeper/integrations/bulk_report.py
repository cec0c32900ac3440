"""What a bulk operation shows while it runs: a rich bar on a terminal, a log line elsewhere.

One daemon thread samples every running operation (rate, stall) about once a second,
five times a second while a bar is shown, and stops when none is running. rich is
optional and imported only when a bar is shown, so containers and CI, which have no
terminal, get one ``watchkeeper.bulk`` log line per operation every ``log_every`` seconds
instead of silence.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

from .bulk import OPERATIONS, Operation

log = logging.getLogger("watchkeeper.bulk")
SAMPLE_EVERY = 1.0
BAR_REFRESH = 0.2


def wants_bar(report: str | None) -> bool:
    """``"auto"`` shows a bar only on a terminal with rich installed."""
    if report == "bar":
        return True
    if report != "auto":
        return False
    try:
        if not sys.stderr.isatty():
            return False
        import rich.progress  # noqa: F401
    except Exception:
        return False
    return True


def describe(op: Operation) -> str:
    """The log line: done/total, percent, rate, ETA, failures."""
    eta = op.eta()
    total = "?" if op.total is None else str(op.total)
    progress = op.progress()
    pct = "" if progress is None else f" ({progress * 100:.0f}%)"
    left = "" if eta is None or op.finished is not None else f", ETA {_seconds(eta)}"
    state = " STALLED" if op.stalled() else ""
    if op.finished is not None:
        state = f" {op.outcome} in {_seconds(op.elapsed())}"
    return (f"bulk {op.name}: {op.done}/{total}{pct}, {op.rate():.1f} items/s{left}, "
            f"{op.failed} failed{state}")


def _seconds(s: float) -> str:
    s = round(s)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


class Reporter:
    """The sampling thread and the displays it drives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._bar_ops: dict[int, tuple[Operation, Any]] = {}
        self._log_ops: dict[int, tuple[Operation, float]] = {}
        self._progress: Any = None

    def add(self, op: Operation) -> None:
        bar = wants_bar(op.report)
        with self._lock:
            if bar:
                if self._progress is None:
                    self._progress = _make_progress()
                    self._progress.start()
                task = self._progress.add_task(op.name, total=op.total)
                self._bar_ops[id(op)] = (op, task)
            elif op.report is not None:
                self._log_ops[id(op)] = (op, op.clock())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="watchkeeper-bulk",
                                                daemon=True)
                self._thread.start()
        self._wake.set()

    def finished(self, op: Operation) -> None:
        with self._lock:
            entry = self._bar_ops.pop(id(op), None)
            if entry is not None:
                self._progress.update(entry[1], completed=op.done, total=op.total or op.done,
                                      description=f"{op.name} ({op.outcome})")
                if not self._bar_ops:
                    self._progress.stop()
                    self._progress = None
            elif self._log_ops.pop(id(op), None) is not None:
                log.info(describe(op))

    def tick(self) -> tuple[bool, bool]:
        """Sample and display once: (anything running, a bar shown)."""
        running = OPERATIONS.running()
        for op in running:
            op.sample()
        with self._lock:
            for op, task in self._bar_ops.values():
                stalled = " [stalled]" if op.stalled() else ""
                self._progress.update(task, completed=op.done, total=op.total,
                                      description=op.name + stalled)
            for key, (op, last) in list(self._log_ops.items()):
                now = op.clock()
                if now - last >= op.log_every:
                    log.info(describe(op))
                    self._log_ops[key] = (op, now)
            bar = bool(self._bar_ops)
        return bool(running), bar

    def _run(self) -> None:
        while True:
            alive, bar = self.tick()
            if not alive:
                with self._lock:
                    if not OPERATIONS.running():
                        self._thread = None
                        return
            self._wake.wait(BAR_REFRESH if bar else SAMPLE_EVERY)
            self._wake.clear()


def _make_progress() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=False)


REPORTER = Reporter()
_setup_lock = threading.Lock()
_set_up = False


def attach(op: Operation) -> None:
    """Show, export and score ``op``; the first call wires the shared parts."""
    global _set_up
    with _setup_lock:
        if not _set_up:
            from .bulk_health import install

            install()
            OPERATIONS.listen(_on_event)
            _set_up = True
    from .bulk_health import track

    track(op)
    REPORTER.add(op)  # with report=None: no display, but rates and stalls are sampled


def _on_event(op: Operation, event: str) -> None:
    if event == "finished":
        REPORTER.finished(op)
    if event in ("finished", "dropped"):
        from .bulk_health import untrack

        untrack(op, dropped=event == "dropped")


def wait_idle(timeout: float = 5.0) -> None:
    """Until the sampling thread has stopped (tests, and scripts that exit right away)."""
    deadline = time.monotonic() + timeout
    while REPORTER._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
