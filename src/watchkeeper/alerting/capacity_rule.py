"""Capacity rules: alert on disks that will be full within a horizon.

``predict_linear(node_filesystem_avail_bytes[1h], 24*3600) < 0`` pages every night a log
rotates; this rule asks the analysis room instead (hourly maxima of used space over a week,
a robust slope, read-only and in-memory filesystems skipped), so only real growth pages.
The alert's value is the seconds left; ``$value``, and the annotations ``lower``/``upper``
(the 80 % interval) and ``growth_per_day`` carry the figures. Rule file form::

    - alert: DiskFullSoon
      capacity: {within: 24h}
      for: 30m

The answer is recomputed at most every ``refresh`` (5 min): a week of hourly maxima moves
slowly, and every evaluation would otherwise read a week of every disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.alerting.rules import parse_duration_ms
from watchkeeper.tsdb.labels import Labels

#: What a capacity rule shows as its expression (the series the server records).
CAPACITY_EXPR = "watchkeeper:time_until_full_seconds"


@dataclass(frozen=True)
class CapacitySpec:
    within_ms: int
    lookback_ms: int = 7 * 86_400_000
    refresh_ms: int = 300_000
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CapacitySpec:
        unknown = set(config) - {"within", "lookback", "refresh"}
        if unknown:
            raise ValueError(f"unknown capacity field(s) {sorted(unknown)}")
        if not config.get("within"):
            raise ValueError("capacity needs within (a duration such as 24h)")
        spec = cls(parse_duration_ms(str(config["within"])),
                   parse_duration_ms(str(config.get("lookback", "7d"))),
                   parse_duration_ms(str(config.get("refresh", "5m"))))
        if spec.within_ms <= 0 or spec.lookback_ms < 86_400_000:
            raise ValueError("capacity within must be above 0 and lookback at least 1d")
        return spec


def capacity_samples(engine: Any, spec: CapacitySpec,
                     ts_ms: int) -> list[tuple[Labels, float, dict[str, float]]]:
    """Filesystems full within the horizon: (labels, seconds, {lower, upper, growth})."""
    from watchkeeper.analysis.views import capacity

    memo = spec.memo
    if "rows" not in memo or not 0 <= ts_ms - memo["ts"] < spec.refresh_ms:
        memo.update(ts=ts_ms, rows=capacity(engine, ts_ms, spec.lookback_ms))
    out = []
    for row in memo["rows"]:
        seconds = row["seconds"]
        if seconds is None or seconds * 1000 > spec.within_ms:
            continue
        labels = Labels.of({k: v for k, v in row["labels"].items() if k != "__name__"})
        extras = {"growth_per_day": row["growth_per_day"]}
        extras.update({k: row[k] for k in ("lower", "upper") if row[k] is not None})
        out.append((labels, float(seconds), extras))
    return out
