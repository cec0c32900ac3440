"""mark_process_dead: forget a dead worker's live gauges, fold the rest into the aggregate.

Call it from the server's child-exit hook (gunicorn: ``child_exit``), as with
prometheus_client. Beyond removing the ``live*`` gauge files, it compacts the worker's
counters, histograms, summaries and non-live gauges into the directory's aggregate file,
so the cost of a scrape stays that of the live workers plus one file.

Servers without such a hook are covered too: ``compact_dead_workers`` finds the workers
whose files no running process holds (see ``liveness``) and does the same for them; the
collector runs it before every scrape.
"""

from __future__ import annotations

import os
import time

from . import liveness
from .aggregate import (
    AGGREGATE_NAME,
    RETAIN_SECONDS,
    Aggregate,
    directory_lock,
    read_aggregate,
    write_aggregate,
)
from .files import UNREADABLE_SUFFIX, parse_file_name, read_file, read_file_id
from .merge import ParsedKey, merge_aggregate, merge_file
from .values import LIVE_GAUGE_MODES, directory

BATCH_PIDS = 128


def mark_process_dead(pid: int | str, path: str | None = None) -> None:
    """Do the bookkeeping for a worker that exited; only call it once ``pid`` is dead."""
    path = path or directory()
    if not path:
        raise ValueError("env PROMETHEUS_MULTIPROC_DIR (or WATCHKEEPER_MULTIPROC_DIR) is not set")
    with directory_lock(path):
        _bury(path, {str(pid)}, os.listdir(path))


def compact_dead_workers(path: str | None = None) -> list[str]:
    """Compact every worker whose files no running process holds; returns their pids.

    The collector calls this before each scrape, so dead workers are folded in even when
    the server has no child-exit hook to call ``mark_process_dead``. Dead workers found
    together are folded in with one rewrite of the aggregate.
    """
    path = path or directory()
    if not path:
        raise ValueError("env PROMETHEUS_MULTIPROC_DIR (or WATCHKEEPER_MULTIPROC_DIR) is not set")
    if not liveness.SUPPORTED:
        return []
    own = str(os.getpid())
    buried: list[str] = []
    with directory_lock(path):
        names = os.listdir(path)
        by_pid: dict[str, list[str]] = {}
        for name in names:
            parsed_name = parse_file_name(name)
            if parsed_name is not None and parsed_name[2] != own:
                by_pid.setdefault(parsed_name[2], []).append(name)
        held: list[int] = []  # exclusive locks, so a reused pid waits until we are done
        try:
            for pid, files in by_pid.items():
                claimed = []
                for name in files:
                    fd = liveness.claim_if_dead(os.path.join(path, name))
                    if fd is None:
                        break  # still running (or its file just vanished)
                    claimed.append(fd)
                if len(claimed) < len(files):
                    for fd in claimed:
                        os.close(fd)
                    continue
                held.extend(claimed)
                buried.append(pid)
                if len(buried) >= BATCH_PIDS:
                    break  # bounded work (and descriptors) per call; the next scrape goes on
            if buried:
                _bury(path, set(buried), names)
        finally:
            for fd in held:
                os.close(fd)
    return buried


def _bury(path: str, pids: set[str], names: list[str]) -> None:
    """Drop dead workers' live gauges and compact the rest; directory lock held."""
    to_absorb: list[tuple[str, str, str, str]] = []
    for name in names:
        parsed_name = parse_file_name(name)
        if parsed_name is None or parsed_name[2] not in pids:
            continue
        typ, mode, pid = parsed_name
        if mode in LIVE_GAUGE_MODES:
            _unlink(os.path.join(path, name))
        else:
            to_absorb.append((name, typ, mode, pid))
    _compact(path, names, to_absorb)


def _compact(path: str, names: list[str], to_absorb: list[tuple[str, str, str, str]]) -> None:
    ids = {n: read_file_id(os.path.join(path, n)) for n in names if parse_file_name(n)}
    old = read_aggregate(path)
    if old.damaged:
        # Keep the unreadable file for inspection and start a new aggregate; readers
        # already could not count what it held.
        damaged = os.path.join(path, AGGREGATE_NAME)
        os.replace(damaged, f"{damaged}.damaged-{time.time_ns()}")
        old = Aggregate()
    # Files an earlier compaction absorbed but was stopped before deleting.
    leftovers = [os.path.join(path, n) for n, i in ids.items() if i and i in old.absorbed]
    if not to_absorb and not leftovers:
        return
    new = Aggregate()
    merge_aggregate(new, old)
    key_cache: dict[bytes, ParsedKey | None] = {}
    done: list[str] = []
    newly_absorbed: set[bytes] = set()
    for name, typ, mode, pid in to_absorb:
        file_path = os.path.join(path, name)
        parsed = read_file(file_path)
        if parsed is None:
            continue
        if not parsed.file_id:  # no readable header: keep it for inspection, out of the way
            os.replace(file_path, file_path + UNREADABLE_SUFFIX)
            continue
        done.append(file_path)
        if parsed.file_id in old.absorbed:
            continue  # already counted (see leftovers)
        merge_file(new, typ, mode, pid, parsed, key_cache)
        newly_absorbed.add(parsed.file_id)
    new.absorbed = _still_needed(old.absorbed, newly_absorbed, {i for i in ids.values() if i})
    # Rewritten when leftovers go too, so their ids count as seen now (see _still_needed).
    if newly_absorbed or leftovers or new.absorbed.keys() != old.absorbed.keys():
        write_aggregate(path, new)
    for file_path in done + leftovers:
        _unlink(file_path)


def _still_needed(
    old: dict[bytes, float], new: set[bytes], present: set[bytes]
) -> dict[bytes, float]:
    """Absorbed ids a reader may still meet: files on disk, or gone only a short while.

    A scrape that read a file just before it was deleted must still find its id when it
    reads the aggregate, or it would count that worker twice.
    """
    now = time.time()
    kept = {i: now for i in new}
    for i, seen in old.items():
        if i in present:
            kept[i] = now
        elif now - seen < RETAIN_SECONDS:
            kept[i] = seen
    return kept


def _unlink(file_path: str) -> None:
    try:
        os.unlink(file_path)
    except FileNotFoundError:
        pass
