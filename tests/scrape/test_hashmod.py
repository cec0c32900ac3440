"""hashmod sharding: each scraper of N keeps exactly the targets a Prometheus with the same
relabel_configs keeps, judged by the real binary's /api/v1/targets."""

from __future__ import annotations

import json

import pytest

from prometheus_runner import PrometheusRunner
from watchkeeper.config import RelabelConfig, parse_config
from watchkeeper.scrape import FileSD, discover, relabel
from watchkeeper.scrape.relabel import hashmod

SHARD_COUNTS = (2, 3, 5)
# 100 synthetic targets on closed local ports: listed by both, scraped by nobody that answers
TARGETS = [f"127.0.0.1:{20000 + i}" for i in range(100)]


def _shard_jobs() -> list[dict]:
    """One job per (N, shard): the same 100 targets, kept where hash mod N == shard."""
    return [{
        "job_name": f"n{n}-shard{k}",
        "scrape_interval": "1h", "scrape_timeout": "10s",
        "static_configs": [{"targets": TARGETS, "labels": {"env": "prod"}}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "modulus": n, "target_label": "__tmp_hash",
             "action": "hashmod"},
            {"source_labels": ["__tmp_hash"], "regex": str(k), "action": "keep"},
        ],
    } for n in SHARD_COUNTS for k in range(n)]


def _by_job(targets: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for t in targets:
        out.setdefault(t["labels"]["job"], set()).add(t["labels"]["instance"])
    return out


@pytest.mark.peer
def test_shards_equal_prometheus_targets(tmp_path) -> None:
    jobs = _shard_jobs()
    config = {"global": {"scrape_interval": "1h"}, "scrape_configs": jobs}
    ours = _by_job([{"labels": t.labels} for t in discover(
        parse_config(json.dumps(config)).config, FileSD()).active])
    with PrometheusRunner(tmp_path, config=config) as prom:
        def complete() -> dict[str, set[str]] | None:
            got = _by_job(prom.targets())
            total = sum(len(v) for v in got.values())
            return got if total == 100 * len(SHARD_COUNTS) else None
        theirs = prom.wait_until(complete, timeout=60, what="all sharded targets")
    assert ours == theirs
    for n in SHARD_COUNTS:  # every target in exactly one shard, and no shard empty
        shards = [ours.get(f"n{n}-shard{k}", set()) for k in range(n)]
        assert set().union(*shards) == set(TARGETS)
        assert sum(len(s) for s in shards) == 100 and all(shards)


def test_hashmod_joins_source_labels_with_the_separator() -> None:
    step = RelabelConfig(source_labels=["a", "b"], separator="|", modulus=7,
                         target_label="__tmp_hash", action="hashmod")
    out = relabel({"a": "x", "b": "y"}, [step])
    assert out is not None and out["__tmp_hash"] == str(hashmod("x|y", 7))
    assert out["a"] == "x"


def test_hashmod_needs_modulus_and_target() -> None:
    with pytest.raises(ValueError, match="hashmod"):
        RelabelConfig(source_labels=["a"], target_label="t", action="hashmod")
    with pytest.raises(ValueError, match="hashmod"):
        RelabelConfig(source_labels=["a"], modulus=3, action="hashmod")


def test_labelmap_copies_matching_labels_under_new_names() -> None:
    step = RelabelConfig(regex="__meta_(.+)", action="labelmap")
    out = relabel({"__meta_zone": "a", "job": "j"}, [step])
    assert out == {"__meta_zone": "a", "zone": "a", "job": "j"}
