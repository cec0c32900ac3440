"""Capacity rules: alert on what will run out within a horizon (disks, inodes, memory, file
descriptors, pools, the config's own gauges with a limit).

``predict_linear(node_filesystem_avail_bytes[1h], 24*3600) < 0`` pages every night a log
rotates; this rule asks the analysis room instead (hourly maxima of used space over a week,
a robust slope, read-only and in-memory filesystems skipped), so only real growth pages.
The alert's value is the seconds left; ``$value``, and the annotations ``lower``/``upper``
(the 80 % interval) and ``growth_per_day`` carry the figures. Rule file form::

    - alert: DiskFullSoon
      capacity: {within: 24h, resources: [disk, inodes]}   # resources: all when absent
      for: 30m

Each alert carries its ``resource`` label, so a disk's space and its inodes page apart.

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
    resources: tuple[str, ...] | None = None  # None: every resource
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CapacitySpec:
        unknown = set(config) - {"within", "lookback", "refresh", "resources"}
        if unknown:
            raise ValueError(f"unknown capacity field(s) {sorted(unknown)}")
        if not config.get("within"):
            raise ValueError("capacity needs within (a duration such as 24h)")
        resources = config.get("resources")
        if resources is not None:
            if (not isinstance(resources, list) or not resources
                    or not all(isinstance(r, str) for r in resources)):
                raise ValueError("capacity resources must be a list of names such as [disk]")
            resources = tuple(resources)
        spec = cls(parse_duration_ms(str(config["within"])),
                   parse_duration_ms(str(config.get("lookback", "7d"))),
                   parse_duration_ms(str(config.get("refresh", "5m"))), resources)
        if spec.within_ms <= 0 or spec.lookback_ms < 86_400_000:
            raise ValueError("capacity within must be above 0 and lookback at least 1d")
        return spec


def read_config(walker: Any, node: Any) -> dict[str, Any]:
    """The rule file's ``capacity`` map: strings, and ``resources`` a list of names."""
    import yaml

    listed = None
    if isinstance(node, yaml.MappingNode):
        rest = []
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "resources":
                listed = value
            else:
                rest.append((key, value))
        node = yaml.MappingNode(node.tag, rest, node.start_mark, node.end_mark)
    config: dict[str, Any] = walker.string_map(node, "capacity")
    if listed is not None:
        config["resources"] = ([walker.scalar(n, "capacity resources") for n in listed.value]
                               if isinstance(listed, yaml.SequenceNode) else listed.value)
    return config


def capacity_samples(engine: Any, spec: CapacitySpec,
                     ts_ms: int) -> list[tuple[Labels, float, dict[str, float]]]:
    """Resources full within the horizon: (labels, seconds, {lower, upper, growth})."""
    from watchkeeper.analysis.views import capacity

    memo = spec.memo
    if "rows" not in memo or not 0 <= ts_ms - memo["ts"] < spec.refresh_ms:
        memo.update(ts=ts_ms, rows=capacity(engine, ts_ms, spec.lookback_ms,
                                            resources=spec.resources))
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
