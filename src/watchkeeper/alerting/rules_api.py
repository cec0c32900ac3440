"""``/api/v1/rules`` and ``/api/v1/alerts`` in Prometheus's shapes, as a mountable router.

Grafana's alerting views and ``promtool``-era scripts read these exact fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from watchkeeper.alerting.evaluator import RecordingRuleState, RuleEvaluator
from watchkeeper.alerting.state import INACTIVE, Alert, AlertingRuleState


def rfc3339(ms: int) -> str:
    if not ms:
        return "0001-01-01T00:00:00Z"
    text = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def format_e(value: float) -> str:
    """Go's strconv.FormatFloat(v, 'e', -1, 64): shortest digits in exponent form."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0e+00"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = len(text) + int(exponent) - 1
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"


def seconds(ms: int) -> int | float:
    """Go's JSON for a float64 number of seconds: ``60``, not ``60.0``."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def alert_json(alert: Alert) -> dict[str, Any]:
    out = {"labels": dict(alert.labels), "annotations": alert.annotations,
           "state": alert.state, "activeAt": rfc3339(alert.active_at_ms),
           "value": format_e(alert.value)}
    if alert.keep_firing_since_ms:
        out["keepFiringSince"] = rfc3339(alert.keep_firing_since_ms)
    return out


def rule_json(rs: AlertingRuleState | RecordingRuleState) -> dict[str, Any]:
    rule = rs.rule
    common: dict[str, Any] = {"name": rule.name, "query": rule.expr, "labels": rule.labels,
                              "health": rs.health}
    if rs.last_error:  # omitted when empty, as Prometheus does
        common["lastError"] = rs.last_error
    common.update(evaluationTime=rs.eval_seconds, lastEvaluation=rfc3339(rs.last_eval_ms))
    if isinstance(rs, RecordingRuleState):  # Prometheus omits a recording rule's empty labels
        if not rule.labels:
            del common["labels"]
        return {**common, "type": "recording"}
    alerts = [alert_json(a) for a in rs.active.values() if a.state != INACTIVE]
    return {"state": rs.state(), **common, "duration": seconds(rule.for_ms),
            "keepFiringFor": seconds(rule.keep_firing_for_ms),
            "annotations": rule.annotations, "alerts": alerts, "type": "alerting"}


def rules_payload(evaluator: RuleEvaluator, kind: str | None = None,
                  names: set[str] | None = None, groups: set[str] | None = None,
                  files: set[str] | None = None) -> dict[str, Any]:
    out = []
    for gs in evaluator.groups:
        if (groups and gs.group.name not in groups) or (files and gs.group.file not in files):
            continue
        rules = []
        for rs in gs.rules:
            is_alert = isinstance(rs, AlertingRuleState)
            if (kind == "alert" and not is_alert) or (kind == "record" and is_alert):
                continue
            if names and rs.rule.name not in names:
                continue
            rules.append(rule_json(rs))
        if (kind or names) and not rules:
            continue
        out.append({"name": gs.group.name, "file": gs.group.file, "rules": rules,
                    "interval": seconds(gs.interval_ms), "limit": gs.group.limit,
                    "evaluationTime": gs.eval_seconds,
                    "lastEvaluation": rfc3339(gs.last_eval_ms)})
    return {"groups": out}


def active_alerts(evaluator: RuleEvaluator) -> list[dict[str, Any]]:
    return [alert_json(a) for gs in evaluator.groups for rs in gs.rules
            if isinstance(rs, AlertingRuleState)
            for a in rs.active.values() if a.state != INACTIVE]


def rules_routes(evaluator: RuleEvaluator) -> list[Route]:
    """Routes to mount at the server's root (paths include /api/v1)."""

    async def rules(request: Request) -> JSONResponse:
        params = request.query_params
        kind = params.get("type")
        if kind not in (None, "", "alert", "record"):
            return JSONResponse({"status": "error", "errorType": "bad_data",
                                 "error": f'unsupported type "{kind}"'}, status_code=400)
        data = rules_payload(evaluator, kind or None,
                             set(params.getlist("rule_name[]")) or None,
                             set(params.getlist("rule_group[]")) or None,
                             set(params.getlist("file[]")) or None)
        return JSONResponse({"status": "success", "data": data})

    async def alerts(request: Request) -> JSONResponse:
        return JSONResponse({"status": "success", "data": {"alerts": active_alerts(evaluator)}})

    return [Route("/api/v1/rules", rules, methods=["GET", "POST"]),
            Route("/api/v1/alerts", alerts, methods=["GET", "POST"])]
