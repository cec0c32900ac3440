"""OpenMetrics text in and out of a store: the format promtool's backfill reads.

Why here and not in the CLI: the bench and the server's admin endpoints import the
same way. Families are streamed one at a time; each series' samples go in as one
array. Import then export gives the same samples (values as shortest round-trip
text, timestamps as exact milliseconds); stale markers become plain NaN in text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO

import numpy as np

from watchkeeper.tsdb.api import MAX_TIME, MIN_TIME
from watchkeeper.tsdb.labels import METRIC_NAME, Labels
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.store import Store

# sample names each simple family type owns; other types export as one unknown per name
_OWNED = {"gauge": ("",), "counter": ("_total", "_created")}


@dataclass
class ImportReport:
    families: int = 0
    series: int = 0
    samples: int = 0
    rejected: int = 0

    def __str__(self) -> str:
        text = (
            f"imported {self.samples} samples of {self.series} series in {self.families} families"
        )
        if self.rejected:
            text += f"; {self.rejected} rejected (out of order or duplicate timestamps)"
        return text


class MissingTimestampError(ValueError):
    """A backfill sample without a timestamp: it has no place in history."""


def import_openmetrics(store: Store, fd: IO[str] | IO[bytes] | Iterable[str]) -> ImportReport:
    """Append every sample of an OpenMetrics file; raises ParseError on bad input."""
    from watchkeeper.exposition.parse import openmetrics_fd_to_metric_families

    report = ImportReport()
    for family in openmetrics_fd_to_metric_families(fd):
        report.families += 1
        store.set_metadata(family.name, family.type, family.documentation, family.unit)
        grouped: dict[Labels, tuple[list[int], list[float]]] = {}
        for sample in family.samples:
            if sample.timestamp is None:
                raise MissingTimestampError(
                    f"sample {sample.name}{sample.labels} has no timestamp; backfill needs one"
                )
            labels = Labels.of({**sample.labels, METRIC_NAME: sample.name})
            ts_vals = grouped.get(labels)
            if ts_vals is None:
                ts_vals = grouped[labels] = ([], [])
            ts_vals[0].append(round(sample.timestamp * 1000))
            ts_vals[1].append(sample.value)
        for labels, (ts, vals) in grouped.items():
            kept = store.append_array(labels, np.array(ts, dtype=np.int64), np.array(vals))
            report.series += 1
            report.samples += kept
            report.rejected += len(ts) - kept
    return report


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def format_timestamp(ts_ms: int) -> str:
    seconds, millis = divmod(ts_ms, 1000)
    return f"{seconds}.{millis:03d}".rstrip("0") if millis else str(seconds)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family_of(name: str, metadata: dict[str, tuple[str, str, str]]) -> tuple[str, str, str]:
    for suffix in ("_total", "_created", ""):
        if suffix and not name.endswith(suffix):
            continue
        family = name[: len(name) - len(suffix)] if suffix else name
        meta = metadata.get(family)
        if meta and suffix in _OWNED.get(meta[0], ()):
            return family, meta[0], meta[1]
    return name, "unknown", ""


def export_openmetrics(
    store: Store,
    out: IO[str],
    matchers: Sequence[Matcher] = (),
    start_ms: int = MIN_TIME,
    end_ms: int = MAX_TIME,
) -> int:
    """Write matching samples as OpenMetrics text ending in ``# EOF``; returns samples."""
    metadata = store.metadata()
    families: dict[str, list[str]] = {}
    for labels in store.series(matchers):
        name = labels.metric_name
        family = _family_of(name, metadata)[0]
        names = families.setdefault(family, [])
        if name not in names:
            names.append(name)
    written = 0
    for family, names in families.items():
        _, typ, help_text = _family_of(names[0], metadata)
        out.write(f"# TYPE {family} {typ}\n")
        if help_text:
            out.write(f"# HELP {family} {_escape(help_text)}\n")
        for name in names:
            selector = [*matchers, Matcher(METRIC_NAME, "=", name)]
            for data in store.select(selector, start_ms, end_ms):
                pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in data.labels if k != METRIC_NAME)
                prefix = f"{name}{{{pairs}}} " if pairs else f"{name} "
                out.writelines(
                    f"{prefix}{format_value(v)} {format_timestamp(t)}\n"
                    for t, v in zip(data.timestamps.tolist(), data.values.tolist(), strict=True)
                )
                written += data.timestamps.size
    out.write("# EOF\n")
    return written
