"""Info (constant key-value pairs) and Enum (which one of a set of states is current)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .base import _UNSET, MetricWrapper
from .family import Metric, Sample
from .naming import validate_labelname
from .registry import REGISTRY, CollectorRegistry
from .textformat import render_labels


class InfoChild:
    __slots__ = ("_key", "_lbl", "_names", "_value")
    _writes = ("info",)

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        self._key = key
        self._lbl = lbl
        self._names = metric._labelnames
        self._value: dict[str, str] = {}

    def info(self, val: dict[str, str]) -> None:
        """Replace the pairs; keys must not clash with the metric's label names."""
        if set(self._names).intersection(val):
            raise ValueError(
                f"Overlapping labels for Info metric, metric: {self._names} child: {val}")
        if any(v is None for v in val.values()):
            raise ValueError("Label value cannot be None")
        for name in val:
            validate_labelname(name)
        self._value = dict(val)  # one attribute store: readers see old or new, never half


class Info(MetricWrapper):
    _type = "info"
    _child_class = InfoChild
    _child_methods = ("info",)

    info = MetricWrapper._missing_labels

    def _add_samples(self, fam: Metric, child: Any, labels: dict[str, str]) -> None:
        fam.samples.append(Sample(self._name + "_info", {**labels, **child._value}, 1.0))

    def _render(self, out: list[str], openmetrics: bool) -> None:
        name = self._name + "_info"
        out.append(self._header(openmetrics, None if openmetrics else name,
                                None if openmetrics else "gauge"))
        names = self._labelnames
        for c in self._children():
            value = c._value
            lbl = render_labels((*names, *value), (*c._key, *value.values()))
            out.append(f"{name}{lbl} 1.0\n")



class EnumChild:
    __slots__ = ("_key", "_lbl", "_states", "_value")
    _writes = ("state",)

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        self._key = key
        self._lbl = lbl
        self._states = metric._states
        self._value = 0

    def state(self, state: str) -> None:
        """Make ``state`` (one of the declared states) the current one."""
        self._value = self._states.index(state)


class Enum(MetricWrapper):
    """The first of ``states`` is current until ``state()`` says otherwise."""

    _type = "stateset"
    _child_class = EnumChild
    _child_methods = ("state",)

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: CollectorRegistry | None = REGISTRY,
        _labelvalues: Sequence[str] | None = None,
        states: Iterable[str] | None = None,
        *,
        max_label_sets: int | None = _UNSET,
        label_set_ttl: float | None = None,
    ) -> None:
        if name in labelnames:
            raise ValueError(f"Overlapping labels for Enum metric: {name}")
        if not states:
            raise ValueError(f"No states provided for Enum metric: {name}")
        self._states = list(states)
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry,
                         _labelvalues, max_label_sets=max_label_sets,
                         label_set_ttl=label_set_ttl)

    state = MetricWrapper._missing_labels

    def _add_samples(self, fam: Metric, child: Any, labels: dict[str, str]) -> None:
        current = child._value
        for i, s in enumerate(self._states):
            fam.samples.append(Sample(self._name, {**labels, self._name: s},
                                      1 if i == current else 0))

    def _render(self, out: list[str], openmetrics: bool) -> None:
        name = self._name
        out.append(self._header(openmetrics, None, None if openmetrics else "gauge"))
        names = (*self._labelnames, name)
        for c in self._children():
            current = c._value
            for i, s in enumerate(self._states):
                lbl = render_labels(names, (*c._key, s))
                out.append(f"{name}{lbl} {'1.0' if i == current else '0.0'}\n")

