"""The distinct-count sketch: within 2 % at 1,000,000 ids, 16 KiB, mergeable, no ids kept."""

from __future__ import annotations

from watchkeeper.integrations.errors.hll import HyperLogLog


def test_small_counts_are_exact_enough_and_duplicates_do_not_count() -> None:
    sketch = HyperLogLog()
    for i in range(100):
        sketch.add(f"user-{i % 37}")
    assert sketch.count() == 37


def test_one_million_ids_within_two_percent_in_16_kib() -> None:
    sketch = HyperLogLog()
    for i in range(1_000_000):
        sketch.add(b"%d" % i)
    assert abs(sketch.count() - 1_000_000) / 1_000_000 <= 0.02
    assert len(sketch.registers) == 16 * 1024


def test_sketches_merge_and_round_trip() -> None:
    a, b = HyperLogLog(12), HyperLogLog(12)
    for i in range(3000):
        (a if i % 2 else b).add(str(i))
    a.merge(b)
    again = HyperLogLog.from_bytes(a.to_bytes())
    assert again.count() == a.count()
    assert abs(a.count() - 3000) / 3000 <= 0.05
