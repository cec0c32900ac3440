"""Whatever workers wrote and whichever of them were compacted, a scrape tells the same."""

from __future__ import annotations

import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.metrics.multiprocess import MultiProcessCollector, mark_process_dead
from watchkeeper.metrics.multiprocess.files import VALUE_PAIR, ValueFile, encode_key, file_name
from watchkeeper.metrics.registry import CollectorRegistry

GAUGE_MODES = ("all", "min", "max", "sum", "mostrecent", "livesum", "liveall")
SERIES = ("a", "b")
numbers = st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3))

worker = st.fixed_dictionaries({
    "counter": st.dictionaries(st.sampled_from(SERIES), st.integers(0, 1000)),
    "gauges": st.dictionaries(st.sampled_from(GAUGE_MODES),
                              st.tuples(numbers, st.integers(1, 10**6))),
    "dead": st.booleans(),
})


def write_worker(directory: str, pid: str, spec: dict) -> None:
    """Lay down the files a worker with this pid would have left, through the file API."""
    def put(typ, mode, metric, sample, labels, value, ts=0.0):
        vfile = ValueFile(os.path.join(directory, file_name(typ, mode, pid)))
        key = encode_key(metric, sample, list(labels), list(labels.values()), "Help.")
        mapping, offset = vfile.add(key)
        mapping[offset : offset + 16] = VALUE_PAIR.pack(value, ts)
        vfile.close()

    for series, count in spec["counter"].items():
        put("counter", "", "jobs", "jobs_total", {"series": series}, float(count))
    for mode, (value, ts) in spec["gauges"].items():
        put("gauge", mode, f"g_{mode}_mode", f"g_{mode}_mode", {}, value, float(ts))


def expected_samples(workers: list[dict], compacted: bool) -> dict:
    out: dict = {}
    for pid, spec in enumerate(workers, start=100):
        for series, count in spec["counter"].items():
            key = ("jobs_total", (("series", series),))
            out[key] = out.get(key, 0.0) + count
        for mode, (value, ts) in spec["gauges"].items():
            if compacted and spec["dead"] and mode.startswith("live"):
                continue
            name = f"g_{mode}_mode"
            if mode in ("all", "liveall"):
                out[(name, (("pid", str(pid)),))] = value
                continue
            key = (name, ())
            old = out.get(key)
            if old is None:
                out[key] = (value, ts) if mode == "mostrecent" else value
            elif mode in ("sum", "livesum"):
                out[key] = old + value
            elif mode == "min":
                out[key] = min(old, value)
            elif mode == "max":
                out[key] = max(old, value)
            elif ts > old[1]:
                out[key] = (value, ts)
    return {k: (v[0] if isinstance(v, tuple) else v) for k, v in out.items()}


def scraped(directory: str) -> dict:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, directory, compact_dead=False)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in registry.collect() if fam.name.startswith(("jobs", "g_"))
        for s in fam.samples
    }


def same(got: dict, want: dict) -> bool:
    return got.keys() == want.keys() and all(
        abs(got[k] - want[k]) <= 1e-6 * max(1.0, abs(want[k])) for k in want)


@settings(max_examples=60, deadline=None)
@given(st.lists(worker, min_size=1, max_size=6))
def test_compaction_never_changes_what_a_scrape_says(workers):
    # distinct mostrecent stamps, so "most recent" has one answer
    stamps = [w["gauges"]["mostrecent"][1] for w in workers if "mostrecent" in w["gauges"]]
    if len(stamps) != len(set(stamps)):
        return
    with tempfile.TemporaryDirectory() as directory:
        for pid, spec in enumerate(workers, start=100):
            write_worker(directory, str(pid), spec)
        assert same(scraped(directory), expected_samples(workers, compacted=False))
        for pid, spec in enumerate(workers, start=100):
            if spec["dead"]:
                mark_process_dead(pid, directory)
        assert same(scraped(directory), expected_samples(workers, compacted=True))
