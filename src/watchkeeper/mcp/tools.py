"""The diagnostic tools: each takes a backend and plain arguments and returns a small dict
of facts computed here. The MCP server, ``watchkeeper diagnose`` and the tests call these."""

from __future__ import annotations

import difflib
import math
import re
from typing import Any

from .backend import Backend, BackendError
from .checks import FLAPPING, _checks, alerts, health
from .engine_rows import EngineRows, InstantRows, instant_rows, range_rows
from .shapes import (
    BUDGET,
    ToolError,
    budget,
    default_grid,
    fit,
    human,
    num,
    parse_span,
    parse_when,
    series_name,
    short,
    sparkline,
    unit_of,
)


# -- queries ------------------------------------------------------------------------------
def _percentile(values: list[float], q: float) -> float | None:
    vals = sorted(v for v in values if math.isfinite(v))
    if not vals:
        return None
    pos = q * (len(vals) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def _summary(labels: dict[str, str], points: list[list[Any]], unit: str) -> dict[str, Any]:
    ts = [float(t) for t, _ in points]
    vs = [float(v) for _, v in points]
    finite = [(t, v) for t, v in zip(ts, vs, strict=True) if math.isfinite(v)]
    out: dict[str, Any] = {"series": series_name(labels), "points": len(points)}
    if not finite:
        return out
    fv = [v for _, v in finite]
    out.update({"min": human(min(fv), unit), "avg": human(sum(fv) / len(fv), unit),
                "max": human(max(fv), unit), "last": human(fv[-1], unit),
                "p95": human(_percentile(fv, 0.95), unit), "spark": sparkline(vs)})
    if len(finite) >= 2 and finite[-1][0] > finite[0][0]:
        n = len(finite)
        mt = sum(t for t, _ in finite) / n
        mv = sum(fv) / n
        var = sum((t - mt) ** 2 for t, _ in finite)
        slope = sum((t - mt) * (v - mv) for t, v in finite) / var if var else 0.0
        out["slope_per_hour"] = human(slope * 3600, unit)
    return out


def _hints(backend: Backend, expr: str) -> dict[str, Any]:
    """Why a query may be empty: the nearest metric names and when each last had data."""
    names = re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
    try:
        known = backend.get("/api/v1/label/__name__/values")
    except BackendError:
        known = []
    hints: dict[str, Any] = {}
    missing = [n for n in names if n not in known and n not in _PROMQL_WORDS]
    if missing:
        hints["nearest_metrics"] = difflib.get_close_matches(missing[0], known, n=5,
                                                             cutoff=0.5)
    present = [n for n in names if n in known]
    if present:
        data = backend.get("/api/v1/query", {
            "query": f"max(timestamp(last_over_time({present[0]}[30d])))"})
        res = data.get("result", [])
        if res:
            hints["last_sample"] = {present[0]: float(res[0]["value"][1])}
        labels = backend.get("/api/v1/series", {"match[]": present[0], "limit": 20})
        keys: dict[str, set[str]] = {}
        for s in labels:
            for k, v in s.items():
                if k != "__name__":
                    keys.setdefault(k, set()).add(v)
        hints["label_values"] = {k: sorted(v)[:8] for k, v in sorted(keys.items())}
    return hints


_PROMQL_WORDS = {"sum", "avg", "min", "max", "count", "rate", "irate", "increase", "by",
                 "without", "topk", "bottomk", "histogram_quantile", "le", "offset", "bool",
                 "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                 "quantile", "stddev", "abs", "time", "vector", "scalar", "delta", "deriv"}


def _narrowing(metrics: list[dict[str, str]], expr: str) -> str:
    """A ready rewrite that returns fewer series: group by the label with fewest values."""
    counts: dict[str, set[str]] = {}
    for m in metrics:
        for k, v in m.items():
            if k != "__name__":
                counts.setdefault(k, set()).add(v)
    if not counts:
        return f"topk(10, {expr})"
    label = min(counts, key=lambda k: (len(counts[k]), k))
    return f"sum by ({label}) ({expr})  or  topk(10, {expr})"


def query(backend: Backend, expr: str, start: str | None = None, end: str | None = None,
          step: str | None = None, shape: str = "summary", cursor: int = 0,
          max_bytes: int | None = None) -> dict[str, Any]:
    """PromQL at one time (no ``start``) or over a range; ``summary`` per series (min, avg,
    max, last, p95, slope, sparkline), ``table`` (last values) or ``points``."""
    if not expr or not expr.strip():
        raise ToolError("expr is empty: pass a PromQL expression such as up")
    if shape not in ("summary", "table", "points"):
        raise ToolError(f"shape {shape!r} not understood: use summary, table or points")
    from watchkeeper.promql.errors import PromQLError

    try:
        t_end = parse_when(end)
        data = None
        step_s = None
        if start is None:
            engine = backend.engine
            found = instant_rows(engine, expr, t_end) if engine is not None else None
            data = ({"resultType": "vector", "result": found} if found is not None else
                    backend.get("/api/v1/query", {"query": expr, "time": t_end}))
        else:
            t_start = parse_when(start)
            if step:
                step_s = parse_span(step, "0s")
            else:
                t_start, t_end, step_s = default_grid(t_start, t_end)
            engine = backend.engine
            rows_now = (range_rows(engine, expr, t_start, t_end, step_s)
                        if engine is not None and step_s > 0 else None)
            if rows_now is not None:
                data = {"resultType": "matrix", "result": rows_now}
            else:
                data = backend.get("/api/v1/query_range", {
                    "query": expr, "start": t_start, "end": t_end, "step": step_s})
    except (BackendError, PromQLError) as e:
        raise ToolError(f"{e}. Check the expression's syntax (it is PromQL) and the "
                        "metric name (find_metrics searches names).") from None
    except ValueError as e:
        raise ToolError(str(e)) from None
    kind = data.get("resultType")
    results = data.get("result", [])
    head: dict[str, Any] = {"expr": expr, "type": kind, "series_total": len(results)}
    if step_s is not None and kind == "matrix":
        head["step"] = human(step_s, "seconds")  # the summary's points are this far apart
    if kind in ("scalar", "string"):
        head["value"] = num(results[1]) if kind == "scalar" else results[1]
        return head
    if not results:
        head["empty"] = True
        head["hints"] = _hints(backend, expr)
        return head
    metrics = (results.metrics if isinstance(results, EngineRows | InstantRows)
               else [r.get("metric", {}) for r in results])
    unit = unit_of(metrics[0].get("__name__", "") or expr.split("(")[-1])

    def rows() -> Any:
        for i in range(cursor, len(results)):
            r = results[i]
            lab = r.get("metric", {})
            pts = r.get("values") or ([r["value"]] if "value" in r else [])
            if shape == "summary":
                yield (_summary(lab, pts, unit) if len(pts) > 1 else
                       {"series": series_name(lab), "value": human(pts[-1][1], unit)})
            elif shape == "table":
                yield {"series": series_name(lab),
                       "value": num(pts[-1][1]) if pts else None,
                       "time": float(pts[-1][0]) if pts else None}
            else:
                yield {"series": series_name(lab),
                       "points": [[float(t), num(v)] for t, v in pts]}

    out = fit(rows(), head, "series", budget(max_bytes), _narrowing(metrics, expr),
              total=len(results))
    if out.get("cursor") is not None:
        out["cursor"] += cursor
    return out


# -- metrics ------------------------------------------------------------------------------
def _metadata(backend: Backend, metric: str | None = None) -> dict[str, Any]:
    try:
        return backend.get("/api/v1/metadata", {"metric": metric} if metric else {})
    except BackendError:
        return {}


def find_metrics(backend: Backend, search: str = "", cursor: int = 0, limit: int = 30,
                 ) -> dict[str, Any]:
    """Metric names matching ``search`` (in the name or the help text), with type, unit,
    help and series count; ``cursor`` pages."""
    names = backend.get("/api/v1/label/__name__/values")
    meta = _metadata(backend)
    words = search.lower().split()

    def hit(name: str) -> bool:
        m = (meta.get(name) or [{}])[0]
        text = f"{name} {m.get('help', '')}".lower()
        return all(w in text for w in words)

    matched = [n for n in names if hit(n)]
    page = matched[cursor:cursor + max(1, min(limit, 100))]
    counts: dict[str, float] = {}
    if page:
        pattern = "|".join(re.escape(n) for n in page)
        data = backend.get("/api/v1/query", {
            "query": f'count by (__name__) ({{__name__=~"{pattern}"}})'})
        counts = {r["metric"]["__name__"]: float(r["value"][1]) for r in data["result"]}
    rows = []
    for n in page:
        m = (meta.get(n) or [{}])[0]
        rows.append({"name": n, "type": m.get("type"), "unit": m.get("unit") or unit_of(n),
                     "help": short(m.get("help"), 100), "series": int(counts.get(n, 0))})
    out = fit(rows, {"search": search, "matched": len(matched)}, "metrics", BUDGET,
              "add a word to search, or raise cursor")
    if not out.get("truncated") and cursor + len(page) < len(matched):
        out["next_cursor"] = cursor + len(page)
    return out


_IDIOMS = {
    "counter": ["rate({m}[5m])", "sum by (job) (rate({m}[5m]))", "increase({m}[1h])"],
    "gauge": ["{m}", "avg_over_time({m}[5m])", "max_over_time({m}[1h])",
              "predict_linear({m}[6h], 3600 * 24)"],
    "histogram": ["histogram_quantile(0.95, sum by (le) (rate({m}_bucket[5m])))",
                  "rate({m}_sum[5m]) / rate({m}_count[5m])", "rate({m}_count[5m])"],
    "summary": ['{m}{{quantile="0.99"}}', "rate({m}_sum[5m]) / rate({m}_count[5m])"],
}


def describe_metric(backend: Backend, name: str) -> dict[str, Any]:
    """Type, help, unit, labels with their top values, series count, the rules that use it,
    and PromQL idioms for its type."""
    if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name or ""):
        raise ToolError(f"{name!r} is not a metric name; find_metrics searches names")
    base = re.sub(r"_(bucket|sum|count|total|created)$", "", name)
    meta = _metadata(backend, name) or _metadata(backend, base)
    m = (meta.get(name) or meta.get(base) or [{}])[0]
    series = backend.get("/api/v1/series", {"match[]": name, "limit": 1000})
    if not series:
        names = backend.get("/api/v1/label/__name__/values")
        raise ToolError(f"no series named {name!r}; nearest: "
                        f"{difflib.get_close_matches(name, names, n=5, cutoff=0.5)}")
    labels: dict[str, dict[str, int]] = {}
    for s in series:
        for k, v in s.items():
            if k != "__name__":
                labels.setdefault(k, {}).setdefault(v, 0)
                labels[k][v] += 1
    typ = m.get("type") or ("counter" if name.endswith("_total") else "gauge")
    rules = []
    try:
        for g in backend.get("/api/v1/rules").get("groups", []):
            rules += [r["name"] for r in g.get("rules", []) if name in r.get("query", "")]
    except BackendError:
        pass
    return {"name": name, "type": typ, "help": short(m.get("help"), 200),
            "unit": m.get("unit") or unit_of(name), "series": len(series),
            "series_capped": len(series) >= 1000,
            "labels": {k: {"values": len(v), "top": sorted(v, key=lambda x: -v[x])[:5]}
                       for k, v in sorted(labels.items())},
            "used_by_rules": rules[:20],
            "idioms": [i.format(m=base if typ in ("histogram", "summary") else name)
                       for i in _IDIOMS.get(typ, _IDIOMS["gauge"])]}


# -- analysis -----------------------------------------------------------------------------
def _analysis(backend: Backend, path: str, params: dict[str, Any]) -> Any:
    try:
        return backend.get(f"/api/v1/analysis/{path}", params)
    except BackendError as e:
        raise ToolError(str(e)) from None


def what_changed(backend: Backend, at: str = "now-1h", window: str = "30m",
                 match: str | None = None, top: int = 10) -> dict[str, Any]:
    """Series whose level or spread moved at ``at``, largest first, with when exactly."""
    try:
        t = parse_when(at)
        parse_span(window, "30m")
    except ValueError as e:
        raise ToolError(str(e)) from None
    rows = _analysis(backend, "changes", {"at": t, "window": window, "match": match,
                                          "top": max(1, min(top, 50))})
    out = [{"series": series_name(r["labels"]), "score": num(r["score"]),
            "before": num(r["before"]), "after": num(r["after"]),
            "spread_x": num(r["spread_ratio"]), "changed_at": r["changed_at"],
            "p_value": num(r.get("ks_pvalue"))} for r in rows]
    return fit(out, {"at": t, "window": window}, "changes", BUDGET,
               "pass match= with a selector such as {job=\"api\"}")


def anomalies(backend: Backend, expr: str, window: str = "1h", step: str = "1m",
              ) -> dict[str, Any]:
    """Anomaly scores (0-1, anomalous at 0.5) of each series of ``expr`` over ``window``."""
    rows = _analysis(backend, "anomalies", {"query": expr, "window": window, "step": step})
    unit = unit_of(expr)
    out = [{"series": series_name(r["labels"]), "max_score": num(r["max_score"]),
            "anomalous_points": [[t, human(v, unit), num(s)] for t, v, s in
                                 r["anomalies"][-5:]]}
           for r in rows]
    return fit(out, {"expr": expr, "window": window, "threshold": 0.5}, "series", BUDGET,
               f"topk(10, {expr})")


def capacity(backend: Backend) -> dict[str, Any]:
    """Time until each resource runs out (disks, inodes, memory, file descriptors, pools;
    robust to log rotation), soonest first."""
    rows = _analysis(backend, "capacity", {})
    out = []
    for r in rows:
        lbl = {k: v for k, v in r["labels"].items() if k != "resource"}
        unit = r.get("unit", "bytes")
        out.append({"resource": r.get("resource", "disk"),
                    "what": lbl.get("mountpoint") or (series_name(lbl) if lbl else "this host"),
                    "device": lbl.get("device"), "used": human(r.get("used_ratio"), "ratio"),
                    "growth_per_day": human(r["growth_per_day"], unit),
                    "growth_per_day_value": num(r["growth_per_day"]),
                    "full_in": None if r["seconds"] is None else human(r["seconds"], "seconds"),
                    "full_in_seconds": num(r["seconds"]),
                    "interval_80": [human(r["lower"], "seconds"), human(r["upper"], "seconds")]
                    if r["seconds"] is not None else None})
    return fit(out, {"resources": len(out)}, "capacity", BUDGET, "")


def forecast(backend: Backend, expr: str, horizon: str = "1d", threshold: float | None = None,
             method: str = "auto", lookback: str = "7d") -> dict[str, Any]:
    """Where ``expr`` goes over ``horizon``, with an 80 % interval, the backtest error and
    when it crosses ``threshold``."""
    rows = _analysis(backend, "forecast", {"query": expr, "horizon": horizon,
                                           "threshold": threshold, "method": method,
                                           "lookback": lookback})
    unit = unit_of(expr)
    out = []
    for r in rows:
        n = len(r["values"])
        picks = sorted({0, n // 2, n - 1}) if n else []
        out.append({"series": series_name(r["labels"]), "method": r["method"],
                    "backtest_mape_percent": num(r["backtest_mape"]),
                    "crosses_at": r["crossing"],
                    "at": [[r["times"][i], human(r["values"][i], unit),
                            human(r["lower"][i], unit), human(r["upper"][i], unit)]
                           for i in picks]})
    return fit(out, {"expr": expr, "horizon": horizon, "threshold": threshold}, "series",
               BUDGET, f"sum({expr})")


__all__ = ["FLAPPING", "ToolError", "_checks", "alerts", "anomalies", "capacity",
           "describe_metric", "find_metrics", "forecast", "health", "query", "what_changed"]
