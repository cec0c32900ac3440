"""The collector registry: the ecosystem's extension point.

Anything with a ``collect()`` that yields ``Metric`` families can be registered, exactly as
with prometheus_client. Registration is rare and locked; collection takes a snapshot of the
collector list so a scrape never holds the lock while collectors run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from .family import Metric


@runtime_checkable
class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


_SUFFIXES = {
    "counter": ("_total", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "info": ("_info",),
}


def _sample_names(collector: Collector) -> list[str]:
    """Every sample name a collector would expose, for duplicate detection at register time."""
    describe = getattr(collector, "describe", None)
    families = describe() if describe is not None else collector.collect()
    names: list[str] = []
    for fam in families:
        names.extend(fam.name + s for s in _SUFFIXES.get(fam.type, ("",)))
    return names


class CollectorRegistry:
    """Holds collectors; ``collect()`` yields every family of every collector."""

    def __init__(self, auto_describe: bool = False, target_info: dict[str, str] | None = None):
        self._lock = threading.Lock()
        self._collectors: dict[int, Collector] = {}
        self._names: dict[str, Collector] = {}
        self._auto_describe = auto_describe
        self._target_info = dict(target_info) if target_info else None

    def register(self, collector: Collector) -> None:
        with self._lock:
            names = _sample_names(collector) if self._auto_describe or hasattr(
                collector, "describe") else []
            dup = [n for n in names if n in self._names]
            if dup:
                raise ValueError(f"Duplicated timeseries in CollectorRegistry: {set(dup)}")
            for n in names:
                self._names[n] = collector
            self._collectors[id(collector)] = collector

    def unregister(self, collector: Collector) -> None:
        with self._lock:
            self._collectors.pop(id(collector), None)
            for n in [n for n, c in self._names.items() if c is collector]:
                del self._names[n]

    def collectors(self) -> list[Collector]:
        with self._lock:
            return list(self._collectors.values())

    def collect(self) -> Iterator[Metric]:
        if self._target_info:
            from .family import InfoMetricFamily

            yield InfoMetricFamily("target", "Target metadata", value=self._target_info)
        for collector in self.collectors():
            yield from collector.collect()

    def set_target_info(self, labels: dict[str, str] | None) -> None:
        self._target_info = dict(labels) if labels else None

    def get_target_info(self) -> dict[str, str] | None:
        return self._target_info

    def restricted_registry(self, names: Iterable[str]) -> RestrictedRegistry:
        return RestrictedRegistry(self, set(names))

    def get_sample_value(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """The value of one sample, or None; meant for tests, it collects everything."""
        labels = labels or {}
        for fam in self.collect():
            for s in fam.samples:
                if s.name == name and s.labels == labels:
                    return s.value
        return None


class RestrictedRegistry:
    """A view of a registry that yields only the samples named (``?name[]=`` on /metrics)."""

    def __init__(self, registry: CollectorRegistry, names: set[str]):
        self._registry = registry
        self._names = names

    def collect(self) -> Iterator[Metric]:
        for fam in self._registry.collect():
            samples = [s for s in fam.samples if s.name in self._names]
            if samples:
                out = Metric(fam.name, fam.documentation, fam.type, fam.unit)
                out.samples = samples
                yield out


REGISTRY = CollectorRegistry(auto_describe=True)
