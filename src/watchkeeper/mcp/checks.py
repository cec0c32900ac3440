"""Health checks and alerts as the tools report them: failing first, with what a person
on call needs (since when, flapping, the rule's expression and ``for``, the incident)."""

from __future__ import annotations

import re
from typing import Any

from .backend import Backend, BackendError
from .shapes import BUDGET, ToolError, budget, fit, human, num, short

#: Status changes within an hour from which a check is called flapping.
FLAPPING = 4


def _checks(backend: Backend) -> list[dict[str, Any]]:
    try:
        doc = backend.get("/health")
        rows = []
        for name, results in (doc.get("checks") or {}).items():
            r = results[0] if isinstance(results, list) and results else results
            rows.append({"check": name, "status": r.get("status"),
                         "output": short(r.get("output")), "since": r.get("statusSince"),
                         "latency": human(r.get("durationSeconds"), "seconds"),
                         "changes": r.get("statusChanges"), "flapping": r.get("flapping"),
                         "critical": r.get("critical")})
    except BackendError:  # a bare store: the checks' recorded status and its changes
        data = backend.get("/api/v1/query", {"query": "last_over_time("
                                             "watchkeeper_health_status[1h])"})
        flips = backend.get("/api/v1/query", {"query": "changes("
                                              "watchkeeper_health_status[1h])"})
        changes = {s["metric"].get("check", ""): int(float(s["value"][1]))
                   for s in flips.get("result", [])}
        rows = [{"check": s["metric"].get("check", ""),
                 "status": "pass" if float(s["value"][1]) >= 1 else "fail",
                 "changes": changes.get(s["metric"].get("check", ""), 0),
                 "flapping": changes.get(s["metric"].get("check", ""), 0) >= FLAPPING}
                for s in data.get("result", [])]
    order = {"fail": 0, "warn": 1}
    return sorted(rows, key=lambda r: (order.get(r["status"], 2), r["check"]))


def health(backend: Backend, check: str | None = None) -> dict[str, Any]:
    """Every health check, failing first (status, output, latency, since, flapping)."""
    rows = _checks(backend)
    if check:
        rows = [r for r in rows if r["check"] == check]
        if not rows:
            raise ToolError(f"no health check named {check!r}; call health without a name "
                            "to list them")
    failing = sum(r["status"] != "pass" for r in rows)
    return fit(rows, {"checks_total": len(rows), "failing": failing}, "checks", BUDGET,
               "pass check=<name> for one check")


def _rules_by_alert(backend: Backend) -> dict[str, dict[str, Any]]:
    try:
        groups = backend.get("/api/v1/rules", {"type": "alert"}).get("groups", [])
    except BackendError:
        return {}
    return {r["name"]: r for g in groups for r in g.get("rules", [])
            if r.get("type", "alerting") == "alerting"}


def _incidents(backend: Backend) -> dict[str, dict[str, Any]]:
    """Open incidents by their alert's labels (a running server's history; none on a bare
    store)."""
    try:
        rows = backend.get("/api/v1/incidents", {"limit": 500})
    except BackendError:
        return {}
    return {_key(r.get("labels") or {}): r for r in rows if r.get("resolved_ms") is None}


def _key(labels: dict[str, str]) -> str:
    return "\x00".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _silences(backend: Backend) -> list[dict[str, Any]]:
    try:
        rows = backend.get("/api/v2/silences")
    except BackendError:
        return []
    return [r for r in rows if isinstance(r, dict)
            and (r.get("status") or {}).get("state", "active") == "active"]


def _silenced_by(silences: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    out = []
    for s in silences:
        ok = True
        for m in s.get("matchers") or []:
            value = labels.get(m.get("name", ""), "")
            hit = (re.fullmatch(m.get("value", ""), value) is not None if m.get("isRegex")
                   else value == m.get("value"))
            if hit != m.get("isEqual", True):
                ok = False
                break
        if ok:
            out.append(str(s.get("id")))
    return out


def alerts(backend: Backend, state: str = "firing", max_bytes: int | None = None,
           ) -> dict[str, Any]:
    """Alerts in ``state`` (firing, pending or all), each with its rule's expression,
    ``for``, current value, summary, its open incident (id, who acknowledged) and the
    silences that match it."""
    if state not in ("firing", "pending", "all"):
        raise ToolError(f"state {state!r} not understood: use firing, pending or all")
    try:
        items = backend.get("/api/v1/alerts").get("alerts", [])
    except BackendError:
        data = backend.get("/api/v1/query", {"query": "ALERTS"})
        items = [{"labels": {k: v for k, v in s["metric"].items()
                             if k not in ("__name__", "alertstate")},
                  "state": s["metric"].get("alertstate"), "value": None}
                 for s in data.get("result", [])]
    items = [a for a in items if state == "all" or a.get("state") == state]
    rules = _rules_by_alert(backend)
    incidents = _incidents(backend) if items else {}
    silences = _silences(backend) if items else []
    rows = []
    for a in items:
        lab = a.get("labels", {})
        rule = rules.get(lab.get("alertname", ""), {})
        incident = incidents.get(_key(lab), {})
        rows.append({"alert": lab.get("alertname"), "state": a.get("state"),
                     "severity": lab.get("severity"),
                     "labels": {k: v for k, v in lab.items()
                                if k not in ("alertname", "severity")},
                     "value": num(a.get("value")), "since": a.get("activeAt"),
                     "summary": short((a.get("annotations") or {}).get("summary")),
                     "expr": short(rule.get("query"), 300),
                     "for": rule.get("duration"), "incident": incident.get("id"),
                     "acked_by": incident.get("acked_by"),
                     "silenced_by": _silenced_by(silences, lab)})
    rank = {"critical": 0, "warning": 1}
    rows.sort(key=lambda r: (rank.get(r["severity"] or "", 2), r["since"] or ""))
    return fit(rows, {"state": state, "count": len(rows)}, "alerts", budget(max_bytes),
               "pass state=firing, or silence noisy alerts")


