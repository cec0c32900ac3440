"""The allocator gives freed arena memory back (glibc): what keeps the server's RSS flat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from watchkeeper.server import allocator

SRC = str(Path(__file__).resolve().parents[2] / "src")
glibc = pytest.mark.skipif(not allocator.available(), reason="glibc only")

# A thread allocates ~94 MB in 32 KiB pieces (below the mmap threshold: they land in its
# arena), keeps one piece allocated after them and frees the rest: the freed memory sits
# below that piece, so glibc keeps it resident until it is trimmed.
SCRIPT = textwrap.dedent("""
    import json, sys, threading
    from watchkeeper.server import allocator

    held = []
    def work():
        blocks = [bytearray(32768) for _ in range(3000)]
        held.append(bytearray(32768))
        del blocks
    base = allocator.rss_bytes()
    t = threading.Thread(target=work)
    t.start()
    t.join()
    retained = allocator.rss_bytes() - base
    released = allocator.trim() if sys.argv[1] == "trim" else 0
    print(json.dumps({"retained": retained, "released": released,
                      "left": allocator.rss_bytes() - base, "runs": allocator.STATS.runs}))
""")


def _run(mode: str) -> dict:
    env = {**os.environ, "PYTHONPATH": SRC}
    env.pop("MALLOC_ARENA_MAX", None)
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                         env=env, timeout=60, check=True)
    return json.loads(out.stdout)


@glibc
def test_freed_memory_stays_resident_without_trim() -> None:
    """The failure mode is real: without a trim the freed 94 MB stay in RSS."""
    figures = _run("none")
    assert figures["retained"] > 64 << 20
    assert figures["left"] > 64 << 20


@glibc
def test_trim_returns_freed_arena_memory() -> None:
    figures = _run("trim")
    assert figures["retained"] > 64 << 20
    assert figures["released"] > 64 << 20
    assert figures["left"] < 16 << 20
    assert figures["runs"] == 1


@glibc
def test_limit_arenas_leaves_the_operators_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert allocator.limit_arenas() is False


def test_rss_is_measured() -> None:
    assert allocator.rss_bytes() > 0 or not Path("/proc/self/statm").exists()


@glibc
def test_the_server_exports_what_trims_gave_back() -> None:
    from types import SimpleNamespace

    from watchkeeper.server.selfmetrics import ServerCollector

    allocator.trim()
    service = SimpleNamespace(ingester=None, store=None, scraper=None, collect_seconds=0.0,
                              last_reload_ok=True, last_reload_time=0.0, started_at=0.0)
    families = {f.name: f for f in ServerCollector(service).collect()}
    assert families["watchkeeper_malloc_trims"].samples[0].value >= 1
    assert families["watchkeeper_malloc_trim_seconds"].samples[0].value > 0
    assert "watchkeeper_malloc_trim_released_bytes" in families
