"""The one-call overview: what is failing, what fired, what is down, what runs out first."""

from __future__ import annotations

from typing import Any

from .backend import Backend, BackendError
from .shapes import human, num, series_name, short, size
from .tools import _checks, alerts, capacity

STATUS_BUDGET = 2048


#: The anomaly scores a server records (the reports read the same series).
RECORDED_SCORES = "watchkeeper:anomaly_score"


def _anomalies_now(backend: Backend) -> Any:
    """The highest recorded anomaly scores at or over 0.5 now, or how to get some: scoring
    every series here would not fit the overview's time."""
    try:
        data = backend.get("/api/v1/query", {
            "query": f"topk(3, last_over_time({RECORDED_SCORES}[5m]) >= 0.5)"})
    except BackendError:
        data = {}
    rows = data.get("result", []) if isinstance(data, dict) else []
    if not rows:
        return ("none recorded at or over 0.5; call anomalies with an expression to "
                "score it")
    out = []
    for r in rows:  # labels: the scored query (expr), the series' name (metric), its own
        m = r["metric"]
        own = {k: v for k, v in m.items() if k not in ("__name__", "expr", "metric")}
        if m.get("metric"):
            own["__name__"] = m["metric"]
        out.append({"series": short(series_name(own), 120), "expr": short(m.get("expr"), 80),
                    "score": num(r["value"][1])})
    return out


def status(backend: Backend) -> dict[str, Any]:
    """Failing checks first, firing alerts, down targets, the soonest time until full and
    the store's size: each list cut to fit 2 KB, with its full count."""
    out: dict[str, Any] = {}
    checks = _checks(backend)
    failing = [c for c in checks if c["status"] != "pass"]
    flapping = [c["check"] for c in checks if c.get("flapping")]
    out["health"] = {"checks": len(checks), "failing": len(failing), "flapping": flapping,
                     "failing_checks": [{"check": c["check"], "status": c["status"],
                                         "output": c.get("output", "")[:100],
                                         "since": c.get("since")} for c in failing]}
    firing = alerts(backend, "firing").get("alerts", [])
    out["alerts"] = {"firing": len(firing),
                     "top": [{"alert": a["alert"], "severity": a["severity"],
                              "since": a["since"], "summary": a["summary"][:100]}
                             for a in firing]}
    try:
        targets = backend.get("/api/v1/targets").get("activeTargets", [])
        down = [t for t in targets if t.get("health") == "down"]
        out["targets"] = {"total": len(targets), "down": len(down),
                          "down_targets": [{"job": t["labels"].get("job"),
                                            "instance": t["labels"].get("instance"),
                                            "error": (t.get("lastError") or "")[:80]}
                                           for t in down]}
    except BackendError:  # a bare store: the targets' recorded up series
        data = backend.get("/api/v1/query", {"query": "last_over_time(up[10m])"})
        ups = data.get("result", [])
        down = [u["metric"] for u in ups if float(u["value"][1]) == 0]
        out["targets"] = {"total": len(ups), "down": len(down),
                          "down_targets": [{"job": m.get("job"), "instance": m.get("instance"),
                                            "error": "up == 0"} for m in down]}
    try:
        soon = [c for c in capacity(backend)["capacity"] if c["full_in"] is not None]
        out["capacity"] = soon[:3] or "nothing is growing toward full"
    except Exception as e:  # analysis needs history; the overview must still answer
        out["capacity"] = f"not available: {e}"
    try:
        tsdb = backend.get("/api/v1/status/tsdb")
        head = tsdb.get("headStats", {})
        out["store"] = {"series": head.get("numSeries"),
                        "size": human(tsdb.get("storageBytes"), "bytes")
                        if tsdb.get("storageBytes") is not None else None}
    except BackendError:
        pass
    try:
        retention = backend.get("/api/v1/status/runtimeinfo").get("storageRetention")
        if retention and isinstance(out.get("store"), dict):
            out["store"]["retention"] = human(float(str(retention).rstrip("s")), "seconds")
    except (BackendError, ValueError, AttributeError):
        pass
    out["anomalies"] = _anomalies_now(backend)
    # Lists give way first, longest first, until the whole answer fits.
    lists = [("health", "failing_checks"), ("alerts", "top"), ("targets", "down_targets")]
    while size(out) > STATUS_BUDGET:
        longest = max((k for k in lists if isinstance(out.get(k[0]), dict)
                       and out[k[0]].get(k[1])), key=lambda k: len(out[k[0]][k[1]]),
                      default=None)
        if longest is None:
            break
        out[longest[0]][longest[1]].pop()
        out[longest[0]]["truncated"] = True
    return out
