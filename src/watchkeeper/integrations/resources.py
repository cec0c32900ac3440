"""What ``/health/performance`` and ``/metrics/{database,cache,circuit-breaker}`` answer,
built from samples: the in-process monitors' own series in a user's app, the scraped series
in ``watchkeeper serve``. One builder for both, so the two never disagree.

Overall score: ``0.5 x mean + 0.5 x minimum`` of the component scores (pools, caches,
breakers, and any other component on the score board): one failing component pulls the
service down by half its loss however many healthy ones there are; 100 with none. Status:
``unhealthy`` below ``unhealthy_below`` (40), ``degraded`` below ``degraded_below`` (70).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from .scores import PENALTY_METRIC, Score

Sample = tuple[str, dict[str, str], float]
KINDS = {"database": ("db_client_",), "cache": ("cache_",),
         "circuit-breaker": ("circuit_breaker_",)}
SCORE_PREFIX = "watchkeeper_health_score"
PATHS = {"/health/performance": "performance", "/metrics/database": "database",
         "/metrics/cache": "cache", "/metrics/circuit-breaker": "circuit-breaker"}
DEGRADED_BELOW, UNHEALTHY_BELOW = 70.0, 40.0


def memoized(fn: Callable[[], Score], key: Callable[[], Any] | None) -> Callable[[], Score]:
    """A score recomputed only when ``key()`` (the figures it reads) changed: formulas that
    consume a window per computation then give the scrape, the penalty series and the
    endpoints of one moment the same answer. Without ``key`` it is computed every time."""
    if key is None:
        return fn
    last: list[Any] = [object(), None]

    def score() -> Score:
        k = key()
        if last[1] is None or k != last[0]:
            last[0], last[1] = k, fn()
        return last[1]

    return score


class Hist:
    """Bucket counts and a sum; ``observe`` is a bisect and two additions."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def buckets(self) -> list[tuple[str, float]]:
        acc, out = 0, []
        for bound, n in zip(self.bounds, self.counts, strict=True):
            acc += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), acc))
        return out


_TRACKED: dict[tuple[str, str], Callable[[], Score]] = {}


def track_score(component: str, name: str, fn: Callable[[], Score],
                key: Callable[[], Any] | None = None) -> None:
    """Publish the score of a pool, cache or breaker (memoized on ``key``) on the score
    board, which exports its penalties beside it."""
    from .scores import register_score

    memo = _TRACKED[(component, name)] = memoized(fn, key)
    register_score(component, name, memo)


def local_samples() -> list[Sample]:
    """This process's monitor series and scores, as the endpoints read them."""
    from ..metrics.registry import REGISTRY
    from .scores import SCOREBOARD

    out: list[Sample] = []
    for fam in _families(REGISTRY, SCOREBOARD):
        for s in fam.samples:
            out.append((s.name, dict(s.labels), float(s.value)))
    return out


def _families(registry: Any, board: Any) -> Iterator[Any]:
    import sys

    for module, attr in (("watchkeeper.integrations.db_stats", "POOLS"),
                         ("watchkeeper.integrations.cache_stats", "CACHES"),
                         ("watchkeeper.integrations.breaker_stats", "BREAKERS")):
        mod = sys.modules.get(module)
        if mod is not None:
            yield from getattr(mod, attr).collect()
    yield from board.collect()  # the scores and their penalties


def _key(labels: dict[str, str], name_label: str) -> tuple[str, str, str]:
    return labels.get("job", ""), labels.get("instance", ""), labels.get(name_label, "")


def _row(rows: dict, labels: dict[str, str], name_label: str) -> dict[str, Any]:
    key = _key(labels, name_label)
    row = rows.get(key)
    if row is None:
        row = rows[key] = {"name": key[2]}
        if key[0] or key[1]:
            row.update(job=key[0], instance=key[1])
    return row


def _scores(samples: list[Sample]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    out: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for name, lab, value in samples:
        if name not in (SCORE_PREFIX, PENALTY_METRIC):
            continue
        key = (lab.get("job", ""), lab.get("instance", ""), lab.get("component", ""),
               lab.get("name", ""))
        entry = out.setdefault(key, {"score": None, "penalties": {}})
        if name == SCORE_PREFIX:
            entry["score"] = value
        else:
            entry["penalties"][lab.get("contributor", "")] = value
    for entry in out.values():
        lost = {k: v for k, v in entry["penalties"].items() if v > 0}
        entry["worst"] = max(lost, key=lost.__getitem__) if lost else ""
    return out


def _attach(rows: dict, scores: dict, component: str) -> list[dict[str, Any]]:
    for (job, inst, name), row in rows.items():
        got = scores.get((job, inst, component, name))
        if got is not None and got["score"] is not None:
            row["score"], row["worst"] = got["score"], got["worst"]
    return sorted(rows.values(), key=lambda r: (r.get("job", ""), r.get("instance", ""),
                                                r["name"]))


def database(samples: list[Sample]) -> dict[str, Any]:
    rows: dict = {}
    waits: dict = {}
    for name, lab, value in samples:
        if not name.startswith("db_client_"):
            continue
        row = _row(rows, lab, "pool_name")
        short = name[len("db_client_connection_"):]
        if name == "db_client_connection_count":
            row[lab.get("state", "")] = value
        elif short in ("idle_max", "idle_min", "max", "pending_requests", "overflow",
                       "utilization"):
            row[short] = value
        elif short in ("timeouts_total", "invalidations_total", "leaks_total"):
            row[short[:-6]] = value
        elif short in ("wait_time_seconds_sum", "wait_time_seconds_count"):
            waits.setdefault(_key(lab, "pool_name"), {})[short[-3:]] = value
        elif name == "db_client_operation_duration_seconds_count":
            row.setdefault("operations", {})[lab.get("db_operation_name", "")] = value
            row["system"] = lab.get("db_system_name", "")
    for key, w in waits.items():
        n = w.get("unt", 0.0)
        rows[key]["wait_mean_seconds"] = w.get("sum", 0.0) / n if n else 0.0
    return {"pools": _attach(rows, _scores(samples), "pool")}


def cache(samples: list[Sample]) -> dict[str, Any]:
    rows: dict = {}
    for name, lab, value in samples:
        if not name.startswith("cache_") or name.endswith(("_bucket", "_sum", "_count")):
            continue
        row = _row(rows, lab, "cache")
        if name == "cache_promotions_total":
            row["promotions"] = value
            continue
        if name in ("cache_operations_total", "cache_key_requests_total"):
            continue
        tier = row.setdefault("tiers", {}).setdefault(lab.get("tier", ""), {})
        field = {"cache_requests_total": lab.get("result", ""),
                 "cache_evictions_total": "evictions"}.get(name, name[len("cache_"):])
        tier[field] = value
    for row in rows.values():
        hits = reqs = 0.0
        for tier in row.get("tiers", {}).values():
            total = tier.get("hit", 0.0) + tier.get("miss", 0.0)
            tier["hit_ratio"] = tier.get("hit", 0.0) / total if total else 0.0
            hits += tier.get("hit", 0.0)
            reqs = reqs or total  # the first tier sees every request
        row["hit_ratio"] = hits / reqs if reqs else 0.0
    return {"caches": _attach(rows, _scores(samples), "cache")}


def circuit_breaker(samples: list[Sample]) -> dict[str, Any]:
    rows: dict = {}
    for name, lab, value in samples:
        if not name.startswith("circuit_breaker_") or name.endswith(("_sum", "_count")):
            continue
        row = _row(rows, lab, "name")
        if name == "circuit_breaker_state":
            if value == 1:
                row["state"] = lab.get("state", "")
        elif name == "circuit_breaker_calls_total":
            row.setdefault("calls", {})[lab.get("outcome", "")] = value
        elif name == "circuit_breaker_transitions_total":
            row.setdefault("transitions", []).append(
                {"from": lab.get("from", ""), "to": lab.get("to", ""), "count": value})
        elif name in ("circuit_breaker_failure_rate", "circuit_breaker_slow_call_rate"):
            row[name[len("circuit_breaker_"):]] = value
    return {"breakers": _attach(rows, _scores(samples), "breaker")}


def performance(samples: list[Sample], degraded_below: float = DEGRADED_BELOW,
                unhealthy_below: float = UNHEALTHY_BELOW) -> dict[str, Any]:
    comps = [{"component": c, "name": n, "score": e["score"], "worst": e["worst"],
              **({"job": j, "instance": i} if j or i else {})}
             for (j, i, c, n), e in sorted(_scores(samples).items()) if e["score"] is not None]
    values = [c["score"] for c in comps]
    overall = 0.5 * sum(values) / len(values) + 0.5 * min(values) if values else 100.0
    status = ("unhealthy" if overall < unhealthy_below else
              "degraded" if overall < degraded_below else "healthy")
    worst = min(comps, key=lambda c: c["score"]) if comps else None
    return {"score": round(overall, 2), "status": status, "components": comps,
            "worst": worst}


BUILDERS: dict[str, Callable[[list[Sample]], dict[str, Any]]] = {
    "performance": performance, "database": database, "cache": cache,
    "circuit-breaker": circuit_breaker}


def text(samples: list[Sample], kind: str) -> str:
    """The kind's series in the Prometheus text format (sample lines)."""
    from ..metrics.textformat import format_value

    prefixes = KINDS.get(kind, (SCORE_PREFIX,))
    lines = []
    for name, lab, value in samples:
        if name.startswith(prefixes):
            body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(lab.items()))
            lines.append(f"{name}{{{body}}} {format_value(value)}" if body
                         else f"{name} {format_value(value)}")
    return "\n".join(lines) + "\n" if lines else ""


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def respond(path: str, accept: str, samples: Callable[[], list[Sample]], *,
            degraded_below: float = DEGRADED_BELOW, unhealthy_below: float = UNHEALTHY_BELOW
            ) -> tuple[int, str, bytes]:
    """(status, content type, body) for one of ``PATHS`` (matched on its tail); an
    ``unhealthy`` performance answers 503."""
    kind = next((k for p, k in PATHS.items() if path.rstrip("/").endswith(p)), None)
    if kind is None:
        return 404, "application/json", b'{"error": "not found"}'
    got = samples()
    if "text/plain" in accept and "application/json" not in accept:
        return 200, "text/plain; version=0.0.4; charset=utf-8", text(got, kind).encode()
    body = (performance(got, degraded_below, unhealthy_below) if kind == "performance"
            else BUILDERS[kind](got))
    status = 503 if kind == "performance" and body["status"] == "unhealthy" else 200
    return status, "application/json", json.dumps(body, sort_keys=True).encode()
