"""Run the CLI in a pseudo-terminal, as a user at a terminal would, and read what it drew."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run_in_pty(*args: str, stdout_pipe: bool = False, timeout: float = 60.0,
               columns: int = 100) -> tuple[int, str, str]:
    """(exit code, what the terminal showed, stdout when piped instead)."""
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    env.pop("CI", None)  # rich treats CI as "not interactive"
    proc = subprocess.Popen([sys.executable, "-m", "watchkeeper", *args], stdin=slave,
                            stdout=subprocess.PIPE if stdout_pipe else slave, stderr=slave,
                            env=env)
    os.close(slave)
    piped: list[bytes] = []
    reader = threading.Thread(target=lambda: piped.append(proc.stdout.read()), daemon=True)
    if proc.stdout is not None:
        reader.start()
    shown = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            closed = False
            if ready:
                try:
                    chunk = os.read(master, 65536)
                    shown += chunk
                    closed = not chunk
                except OSError:  # every end of the terminal is closed
                    closed = True
            if proc.poll() is not None and (closed or not ready):
                break
        code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        if proc.stdout is not None:
            reader.join(timeout=10)
        out = b"".join(piped).decode()
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, shown.decode(errors="replace"), out
