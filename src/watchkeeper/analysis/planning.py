"""Capacity planning from the metrics already kept: per resource its growth per day, headroom
and the date a utilisation target is crossed; the service's hot spots; and optimisation
hints, each with the numbers behind it.

Resources are the analysis room's list (``resources.py``): disks and their inodes, memory,
CPU, pools, file descriptors and the config's own gauges with a limit, each a used and a
limit series matched on their labels.

Growth is Theil-Sen's slope of hourly maxima (robust to a spike or a rotation), so a target
crossing is a date, not a reaction to the last minute. Hot spots rank by total cost over the
window: routes by total request time, database operations by total time, caches by misses
(and the time their sampled operations took on them). Hints are computed, never guessed:
a pool whose peak stayed under 30 % of its maximum, a cache under 50 % hits over at least
100 requests, workers busy under 10 % of their slots.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .capacity import DAY, HOUR
from .forecasting import theil_sen
from .resources import SKIPPED_FSTYPES, all_resources
from .views import grid, label_key

POOL_PEAK = 0.3    # a pool whose peak use stays below this share of its maximum
CACHE_HITS = 0.5   # a cache answering fewer hits than this share
CACHE_MIN = 100    # ... over at least this many requests
WORKERS_BUSY = 0.1  # workers busy on average less than this share of their slots


def _growth(t: np.ndarray, used: np.ndarray) -> tuple[float | None, bool]:
    """(per second, from hourly maxima; None with fewer than three hours, and whether the
    growth over the span stands out of the noise: three robust sigmas of the residuals)."""
    hours = np.floor(t / HOUR)
    _, start = np.unique(hours, return_index=True)
    if len(start) < 3:
        return None, False
    ht = t[start]
    hv = np.maximum.reduceat(used, start)
    slope, icpt, _ = theil_sen(ht, hv)
    resid = hv - (icpt + slope * ht)
    noise = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    return float(slope), abs(slope) * float(ht[-1] - ht[0]) > 3 * noise


def plan_resources(engine: Any, now_ms: int, lookback_ms: int = int(7 * DAY * 1000),
                   target: float = 0.8) -> list[dict[str, Any]]:
    """Every resource found: utilisation now, growth per day, headroom to ``target`` (in
    the resource's unit) and when the target is crossed (unix seconds; ``None``: not
    growing toward it), soonest crossing first."""
    step = max(60_000, lookback_ms // 2000)
    out = []
    for res in all_resources():
        kind = res.name
        labels, times, used = grid(engine, res.used, now_ms - lookback_ms, now_ms, step)
        if not labels:
            continue
        limit_labels, _, limits = grid(engine, res.limit, now_ms - lookback_ms, now_ms, step)
        limit_of = {label_key(lbl): row for lbl, row in zip(limit_labels, limits, strict=True)}
        for lbl, row in zip(labels, used, strict=True):
            if res.filesystem and lbl.get("fstype") in SKIPPED_FSTYPES:
                continue
            limit_row = limit_of.get(label_key(lbl))
            ok = np.isfinite(row)
            if limit_row is None or not ok.any() or not np.isfinite(limit_row).any():
                continue
            limit = float(limit_row[np.isfinite(limit_row)][-1])
            if limit <= 0:
                continue
            now_used = float(row[ok][-1])
            slope, real = _growth(times[ok], row[ok])
            per_day = None if slope is None else slope * DAY
            goal = target * limit
            if now_used >= goal:
                crossing: float | None = float(times[ok][-1])  # crossed already
            elif slope is not None and slope > 0 and real:  # flat or noise: no date
                crossing = now_ms / 1000 + (goal - now_used) / slope
            else:
                crossing = None
            out.append({"resource": kind, "labels": {k: v for k, v in lbl.items()
                                                     if k != "__name__"},
                        "used": now_used, "limit": limit, "utilisation": now_used / limit,
                        "growth_per_day": per_day, "headroom": goal - now_used,
                        "target": target, "target_crossed_at": crossing})
    return sorted(out, key=lambda r: (r["target_crossed_at"] is None,
                                      r["target_crossed_at"] or 0.0, -r["utilisation"]))


def _vector(engine: Any, expr: str, ts_ms: int) -> dict[tuple, tuple[dict[str, str], float]]:
    """An instant query as {label key: (labels, value)}; empty on any query error."""
    try:
        value = engine.instant(expr, ts_ms).value
    except Exception:
        return {}
    if not hasattr(value, "mask"):
        return {}
    out = {}
    for i in np.flatnonzero(value.mask[:, 0]) if len(value) else []:
        lbl = dict(value.labels[i])
        v = float(value.values[i, 0])
        if math.isfinite(v):
            out[label_key(lbl)] = (lbl, v)
    return out


def _ranked(total: dict, count: dict, top: int) -> list[dict[str, Any]]:
    rows = []
    for key, (lbl, seconds) in total.items():
        n = count.get(key, (lbl, 0.0))[1]
        if seconds > 0:
            rows.append({**lbl, "total_seconds": seconds, "count": n,
                         "mean_seconds": seconds / n if n else None, "_sort": seconds})
    rows.sort(key=lambda r: -r.pop("_sort"))
    return rows[:top]


def hot_spots(engine: Any, now_ms: int, window: str = "1d", top: int = 10,
              ) -> dict[str, list[dict[str, Any]]]:
    """The service's own hot spots over ``window`` (a PromQL duration)."""
    def both(metric: str, by: str) -> tuple[dict, dict]:
        return (_vector(engine, f"sum by ({by}) (increase({metric}_sum[{window}]))", now_ms),
                _vector(engine, f"sum by ({by}) (increase({metric}_count[{window}]))", now_ms))

    routes = _ranked(*both("http_server_request_duration_seconds", "http_route"), top)
    queries = _ranked(*both("db_client_operation_duration_seconds",
                            "db_system_name, db_operation_name"), top)
    misses = _vector(engine, 'sum by (cache, tier) (increase(cache_requests_total'
                     f'{{result="miss"}}[{window}]))', now_ms)
    requests = _vector(engine, f"sum by (cache, tier) (increase(cache_requests_total[{window}]))",
                       now_ms)
    op_time, op_count = both("cache_operation_duration_seconds", "cache, tier")
    caches = []
    for key, (lbl, missed) in misses.items():
        asked = requests.get(key, (lbl, 0.0))[1]
        t, n = op_time.get(key, (lbl, 0.0))[1], op_count.get(key, (lbl, 0.0))[1]
        mean = t / n if n else None
        caches.append({**lbl, "misses": missed, "requests": asked,
                       "hit_ratio": 1 - missed / asked if asked else None,
                       "miss_cost_seconds": missed * mean if mean is not None else None})
    caches.sort(key=lambda r: (-(r["miss_cost_seconds"] or 0.0), -r["misses"]))
    return {"routes": routes, "queries": queries, "caches": caches[:top]}


def hints(engine: Any, now_ms: int, window: str = "1d") -> list[dict[str, Any]]:
    """Resource-optimisation hints over ``window``, each with the figures that raised it."""
    out: list[dict[str, Any]] = []
    peak = _vector(engine, f'max_over_time((sum by (pool_name) (db_client_connection_count'
                   f'{{state="used"}}))[{window}:1m])', now_ms)
    size = _vector(engine, "max by (pool_name) (db_client_connection_max)", now_ms)
    for key, (lbl, most) in peak.items():
        cap = size.get(key, (lbl, 0.0))[1]
        if cap >= 4 and most < POOL_PEAK * cap:
            suggest = max(2, math.ceil(most * 1.5) + 1)
            out.append({"kind": "over_provisioned_pool", "labels": lbl,
                        "figures": {"peak_used": most, "max": cap, "suggested_max": suggest},
                        "hint": f"pool {lbl.get('pool_name', '?')} used at most {most:g} of "
                                f"its {cap:g} connections over {window}; {suggest} would do"})
    hot = hot_spots(engine, now_ms, window, top=1000)["caches"]
    for c in hot:
        if c["requests"] >= CACHE_MIN and c["hit_ratio"] is not None \
                and c["hit_ratio"] < CACHE_HITS:
            lbl = {k: v for k, v in c.items() if k in ("cache", "tier")}
            out.append({"kind": "low_hit_ratio_cache", "labels": lbl,
                        "figures": {"hit_ratio": c["hit_ratio"], "requests": c["requests"],
                                    "misses": c["misses"]},
                        "hint": f"cache {lbl.get('cache', '?')} ({lbl.get('tier', '?')}) hit "
                                f"{100 * c['hit_ratio']:.0f} % of {c['requests']:,.0f} requests "
                                f"over {window}: check its keys, size and TTL"})
    busy = _vector(engine, f"avg_over_time((sum by (system, queue) (jobs_in_progress))"
                   f"[{window}:1m])", now_ms)
    slots = _vector(engine, f"avg_over_time((sum by (system, queue) (job_worker_slots))"
                    f"[{window}:1m])", now_ms)
    for key, (lbl, used) in busy.items():
        have = slots.get(key, (lbl, 0.0))[1]
        if have >= 2 and used < WORKERS_BUSY * have:
            out.append({"kind": "idle_workers", "labels": lbl,
                        "figures": {"busy_average": used, "slots": have,
                                    "busy_ratio": used / have},
                        "hint": f"workers of {lbl.get('queue', '?')} were busy "
                                f"{100 * used / have:.0f} % of their {have:g} slots on average "
                                f"over {window}"})
    return out


def plan(engine: Any, now_ms: int, window: str = "1d", lookback_ms: int = int(7 * DAY * 1000),
         target: float = 0.8, top: int = 10) -> dict[str, Any]:
    """Everything above in one answer (what the API route and ``analyze plan`` show)."""
    return {"resources": plan_resources(engine, now_ms, lookback_ms, target),
            "hot_spots": hot_spots(engine, now_ms, window, top),
            "hints": hints(engine, now_ms, window)}
