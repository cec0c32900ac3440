"""Helpers for the job-system tests: unique names, a worker subprocess, multiprocess reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from multiproc import scrape

HERE = Path(__file__).parent
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
REDIS_URL = "redis://127.0.0.1:6379/0"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def wait_for(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def samples(mpdir: Path) -> dict[tuple[str, tuple], float]:
    """Every sample of the directory: (name, sorted label pairs) -> value."""
    out = {}
    for fam in scrape(mpdir).collect():
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(found: dict, name: str, **labels: str) -> float:
    return sum(v for (n, lab), v in found.items()
               if n == name and all(dict(lab).get(k) == x for k, x in labels.items()))


def python_path(first: list[str] | tuple[str, ...] = ()) -> str:
    """The test process's path for a subprocess, with ``first`` in front of it."""
    return os.pathsep.join([*first, str(HERE), *sys.path])


class Worker:
    """A worker subprocess with the multiprocess directory set; always stopped. ``first``:
    directories ahead of the test process's path (a different redis-py, say)."""

    def __init__(self, args: list[str], env: dict[str, str], mpdir: Path, log: Path,
                 first: list[str] | tuple[str, ...] = ()) -> None:
        self.mpdir = mpdir
        mpdir.mkdir(parents=True, exist_ok=True)
        full = {**os.environ, **env, "PROMETHEUS_MULTIPROC_DIR": str(mpdir),
                "PYTHONPATH": python_path(first)}
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, *args], env=full, cwd=HERE,
                                     stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def stop(self, timeout: float = 20) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._out.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
