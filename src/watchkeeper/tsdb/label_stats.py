"""Cardinality of the label index, as Prometheus reports it in ``/api/v1/status/tsdb``.

Why: a label with too many values (a user id, a URL) is what makes a TSDB big and slow,
and operators look for it where Prometheus shows it. The figures are computed as
Prometheus computes them from its postings: per label name the number of distinct values
and the bytes of those values (each stored once, as our index interns them, and as
Prometheus 2.x counted them), per ``name=value`` pair the number of series carrying it,
and the number of distinct pairs. Only the store's public read API is used.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Ranking = list[tuple[str, int]]


@dataclass(frozen=True)
class LabelStats:
    """Top entries of each ranking, largest first (ties by name)."""

    num_label_pairs: int
    series_count_by_metric_name: Ranking
    label_value_count_by_label_name: Ranking
    memory_in_bytes_by_label_name: Ranking
    series_count_by_label_value_pair: Ranking

    def to_api(self) -> dict[str, Any]:
        """The rankings under the keys and in the ``{name, value}`` shape Prometheus uses."""
        def entries(ranking: Ranking) -> list[dict[str, Any]]:
            return [{"name": name, "value": value} for name, value in ranking]

        return {
            "seriesCountByMetricName": entries(self.series_count_by_metric_name),
            "labelValueCountByLabelName": entries(self.label_value_count_by_label_name),
            "memoryInBytesByLabelName": entries(self.memory_in_bytes_by_label_name),
            "seriesCountByLabelValuePair": entries(self.series_count_by_label_value_pair),
        }


def top(counts: Iterable[tuple[str, int]], limit: int) -> Ranking:
    """The ``limit`` largest counts, largest first; equal counts in name order."""
    return heapq.nsmallest(limit, counts, key=lambda item: (-item[1], item[0]))


def label_stats(series: Iterable[Iterable[tuple[str, str]]], limit: int = 10) -> LabelStats:
    """Statistics over ``series`` (each a label set of ``(name, value)`` pairs)."""
    pairs: Counter[tuple[str, str]] = Counter()
    for labels in series:
        pairs.update(labels)
    values_per_name: Counter[str] = Counter()
    bytes_per_name: Counter[str] = Counter()
    for name, value in pairs:
        values_per_name[name] += 1
        bytes_per_name[name] += len(value.encode())
    return LabelStats(
        num_label_pairs=len(pairs),
        series_count_by_metric_name=top(
            ((value, n) for (name, value), n in pairs.items() if name == "__name__"), limit),
        label_value_count_by_label_name=top(values_per_name.items(), limit),
        memory_in_bytes_by_label_name=top(bytes_per_name.items(), limit),
        series_count_by_label_value_pair=[
            (f"{name}={value}", n) for (name, value), n in
            heapq.nsmallest(limit, pairs.items(), key=lambda item: (-item[1], item[0]))],
    )
