"""Series identity: a label set as a sorted tuple of (name, value) pairs.

Why a tuple: it hashes and compares fast (the append path looks series up by it) and
is immutable, so the same object can key the head, the index and the store's tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

METRIC_NAME = "__name__"

LabelPairs = tuple[tuple[str, str], ...]


class Labels(tuple):
    """An immutable, sorted label set; build it with Labels.of(...)."""

    __slots__ = ()

    @classmethod
    def of(cls, labels: Mapping[str, str] | Iterable[tuple[str, str]] | Labels) -> Labels:
        """Normalise a dict or pairs: sorted by name, empty values dropped (as Prometheus)."""
        if isinstance(labels, Labels):
            return labels
        items = labels.items() if isinstance(labels, Mapping) else labels
        return tuple.__new__(cls, sorted((str(k), str(v)) for k, v in items if v != ""))

    def get(self, name: str, default: str = "") -> str:
        for k, v in self:
            if k == name:
                return v
        return default

    @property
    def metric_name(self) -> str:
        return self.get(METRIC_NAME)

    def to_dict(self) -> dict[str, str]:
        return dict(self)

    def to_json(self) -> str:
        """Canonical text form used as the durable key of a series."""
        return json.dumps(list(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Labels:
        return tuple.__new__(cls, (tuple(p) for p in json.loads(text)))

    def __str__(self) -> str:
        name = self.metric_name
        rest = ",".join(f'{k}="{_escape(v)}"' for k, v in self if k != METRIC_NAME)
        return f"{name}{{{rest}}}" if rest or not name else name

    def __repr__(self) -> str:
        return f"Labels({self.to_dict()!r})"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
