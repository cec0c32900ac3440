"""The write tools, offered only with ``--mcp-write`` (``web.mcp.write``) and annotated as
destructive: silence matching alerts, acknowledge an incident. Both go through the running
server's own routes, so its checks, history and audit trail apply unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .backend import Backend, BackendError
from .shapes import ToolError, parse_span

#: At most this many incidents are acknowledged by one call naming an alert.
MAX_ACKS = 20
WHO = "mcp"


def _write(backend: Backend, path: str, body: dict[str, Any]) -> Any:
    try:
        return backend.post(path, body)
    except BackendError as e:
        text = str(e)
        if "HTTP 404" in text or "HTTP 405" in text:
            raise ToolError(f"{path} is not available here: write tools need a running "
                            "watchkeeper serve with alerting (--url)") from None
        raise ToolError(text) from None


def silence(backend: Backend, matchers: dict[str, str], duration: str = "1h",
            comment: str = "silenced through MCP") -> dict[str, Any]:
    """Silence alerts whose labels equal ``matchers`` for ``duration``."""
    if not matchers:
        raise ToolError("matchers is empty: pass labels such as {\"alertname\": \"X\"}")
    try:
        seconds = parse_span(duration, "1h")
    except ValueError as e:
        raise ToolError(str(e)) from None
    start = datetime.now(UTC)
    end = datetime.fromtimestamp(start.timestamp() + seconds, UTC)
    body = {"matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True}
                         for k, v in matchers.items()],
            "startsAt": start.isoformat(), "endsAt": end.isoformat(),
            "createdBy": WHO, "comment": comment}
    return {"silence": _write(backend, "/api/v2/silences", body), "ends_at": end.isoformat()}


def _open_incidents(backend: Backend, alert: str) -> list[dict[str, Any]]:
    try:
        rows = backend.get("/api/v1/incidents", {"limit": 500})
    except BackendError as e:
        raise ToolError(f"incidents are not available here ({e}): acknowledge needs a "
                        "running watchkeeper serve with alerting (--url)") from None
    return [r for r in rows if r.get("resolved_ms") is None and r.get("acked_ms") is None
            and (r.get("rule") == alert or r.get("labels", {}).get("alertname") == alert)]


def acknowledge(backend: Backend, incident: int | None = None, alert: str | None = None,
                comment: str = "acknowledged through MCP") -> dict[str, Any]:
    """Acknowledge incident ``incident``, or every open unacknowledged incident of the
    alert named ``alert`` (at most 20): paging stops escalating them."""
    if (incident is None) == (alert is None):
        raise ToolError("pass exactly one of incident (its id, as alerts shows it) or alert (an "
                        "alert name)")
    ids = [incident] if incident is not None else [
        r["id"] for r in _open_incidents(backend, str(alert))][:MAX_ACKS]
    if not ids:
        raise ToolError(f"no open unacknowledged incident of alert {alert!r}; alerts "
                        "state=all lists them")
    done = []
    for i in ids:
        row = _write(backend, f"/api/v1/incidents/{int(i)}/ack",
                     {"by": WHO, "comment": comment})
        done.append({"incident": row.get("id"), "rule": row.get("rule"),
                     "labels": row.get("labels"), "acked_by": row.get("acked_by"),
                     "acked_ms": row.get("acked_ms")})
    return {"acknowledged": done, "count": len(done)}
