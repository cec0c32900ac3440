"""Routes the page uses that the server does not have yet, in the shapes the page expects.

Acknowledge and resolve take ``{fingerprint, labels}``; ``/api/v1/alerts`` entries gain
``fingerprint`` and ``acknowledged``; silences take Alertmanager's v2 body; thresholds are
``[{name, expr, value}]`` with ``PUT /api/v1/thresholds/{name} {"value": n}``. Every
state-changing route refuses a request without ``X-Requested-With``, as the server must.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from watchkeeper.alerting.rules_api import active_alerts

HOSTILE = "<img src=x onerror=window.__pwned=1>"


def fingerprint(labels: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]


class StandIn:
    def __init__(self, evaluator: Any) -> None:
        self.evaluator = evaluator
        self.acked: dict[str, str] = {}
        self.resolved: set[str] = set()
        self.silences: list[dict[str, Any]] = []
        self.thresholds = [{"name": "cpu_busy", "expr": "100 * cpu_busy_ratio > $value",
                            "value": 90}]
        self.changes: list[tuple[str, str]] = []

    def alerts(self) -> list[dict[str, Any]]:
        out = []
        for alert in active_alerts(self.evaluator):
            fp = fingerprint(alert["labels"])
            if fp in self.resolved:
                continue
            out.append({**alert, "fingerprint": fp, "acknowledged": fp in self.acked,
                        "acknowledgedBy": self.acked.get(fp, "")})
        return out

    def routes(self) -> list[Any]:
        def guarded(fn: Any) -> Any:
            async def endpoint(request: Request) -> JSONResponse:
                if request.headers.get("x-requested-with") != "watchkeeper":
                    return JSONResponse({"status": "error", "error": "missing CSRF header"},
                                        status_code=403)
                body = await request.json()
                self.changes.append((request.url.path, json.dumps(body)))
                return JSONResponse({"status": "success", "data": fn(request, body)})
            return endpoint

        async def alerts(request: Request) -> JSONResponse:
            return JSONResponse({"status": "success", "data": {"alerts": self.alerts()}})

        async def targets(request: Request) -> JSONResponse:
            return JSONResponse({"status": "success", "data": {"activeTargets": [
                {"labels": {"job": "node", "instance": "127.0.0.1:9100"}, "health": "up",
                 "lastError": ""},
                {"labels": {"job": "api", "instance": HOSTILE}, "health": "down",
                 "lastError": f"connection refused {HOSTILE}"}], "droppedTargets": []}})

        async def list_silences(request: Request) -> JSONResponse:
            return JSONResponse({"status": "success", "data": self.silences})

        async def thresholds(request: Request) -> JSONResponse:
            return JSONResponse({"status": "success", "data": self.thresholds})

        def ack(request: Request, body: dict[str, Any]) -> dict[str, Any]:
            self.acked[body["fingerprint"]] = "dashboard"
            return {}

        def resolve(request: Request, body: dict[str, Any]) -> dict[str, Any]:
            self.resolved.add(body["fingerprint"])
            return {}

        def silence(request: Request, body: dict[str, Any]) -> dict[str, Any]:
            self.silences.append(body)
            return {"silenceID": str(len(self.silences))}

        def set_threshold(request: Request, body: dict[str, Any]) -> dict[str, Any]:
            for t in self.thresholds:
                if t["name"] == request.path_params["name"]:
                    t["value"] = body["value"]
            return {}

        return [
            Route("/api/v1/alerts", alerts),
            Route("/api/v1/targets", targets),
            Route("/api/v1/silences", list_silences, methods=["GET"]),
            Route("/api/v1/silences", guarded(silence), methods=["POST"]),
            Route("/api/v1/alerts/ack", guarded(ack), methods=["POST"]),
            Route("/api/v1/alerts/resolve", guarded(resolve), methods=["POST"]),
            Route("/api/v1/thresholds", thresholds, methods=["GET"]),
            Route("/api/v1/thresholds/{name}", guarded(set_threshold), methods=["PUT"]),
        ]
