"""The fd parsers stream: a big file costs the memory of its largest family, not of the file."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

from watchkeeper import text_fd_to_metric_families
from watchkeeper.exposition.parse import openmetrics_fd_to_metric_families

SAMPLES_PER_FAMILY = 2000


def _write_openmetrics(path: Path, families: int) -> None:
    """Timestamped counters, as ``promtool tsdb create-blocks-from openmetrics`` takes them."""
    with path.open("w") as f:
        for m in range(families):
            f.write(f"# HELP import{m}_requests Requests.\n# TYPE import{m}_requests counter\n")
            for series in range(4):
                for point in range(SAMPLES_PER_FAMILY // 4):
                    f.write(f'import{m}_requests_total{{code="{200 + series}",path="/p"}} '
                            f"{point * 3} {1565133713.989 + point * 15:.3f}\n")
        f.write("# EOF\n")


def _peak_while_streaming(path: Path) -> tuple[int, int]:
    """(peak traced bytes, samples seen) while reading ``path`` family by family."""
    gc.collect()
    tracemalloc.start()
    try:
        seen = 0
        with path.open() as fd:
            for fam in openmetrics_fd_to_metric_families(fd):
                seen += len(fam.samples)
                del fam
        return tracemalloc.get_traced_memory()[1], seen
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_the_largest_family_not_the_file(tmp_path):
    small, large = tmp_path / "small.om", tmp_path / "large.om"
    _write_openmetrics(small, 3)
    _write_openmetrics(large, 30)
    small_peak, small_seen = _peak_while_streaming(small)
    large_peak, large_seen = _peak_while_streaming(large)
    assert (small_seen, large_seen) == (3 * SAMPLES_PER_FAMILY, 30 * SAMPLES_PER_FAMILY)
    # Ten times the data, about the same peak: only one family is held at a time.
    assert large_peak < 2 * small_peak, (small_peak, large_peak)


def test_timestamps_are_float_seconds_and_values_exact(tmp_path):
    path = tmp_path / "one.om"
    _write_openmetrics(path, 1)
    with path.open("rb") as fd:
        (fam,) = openmetrics_fd_to_metric_families(fd)
    first, last = fam.samples[0], fam.samples[-1]
    assert (first.name, first.labels, first.value, first.timestamp) == (
        "import0_requests_total", {"code": "200", "path": "/p"}, 0.0, 1565133713.989)
    assert last.timestamp == float(f"{1565133713.989 + (SAMPLES_PER_FAMILY // 4 - 1) * 15:.3f}")


def _counting(lines: list[str], pulled: list[int]):
    for line in lines:
        pulled[0] += 1
        yield line


def test_families_arrive_before_the_input_is_read_to_the_end():
    om = ["# TYPE a gauge\n", "a 1\n", "# TYPE b gauge\n", "b 2\n",
          "# TYPE c gauge\n", "c 3\n", "# EOF\n"]
    pulled = [0]
    families = openmetrics_fd_to_metric_families(_counting(om, pulled))
    assert next(families).name == "a"
    assert pulled[0] == 3  # the line that started family b, no more
    # Text 0.0.4 is read in batches of lines: still far from the whole input.
    text = [line for name in ("a", "b", "c", "d")
            for line in [f"# TYPE {name} gauge\n"] + [f'{name}{{i="{i}"}} 1\n'
                                                       for i in range(5000)]]
    pulled = [0]
    families = text_fd_to_metric_families(_counting(text, pulled))
    assert len(next(families).samples) == 5000
    assert pulled[0] < len(text) / 2
