"""Reports of results: the health+json document and the Kubernetes-style verbose text.

The document follows the "Health Check Response Format for HTTP APIs" draft
(``application/health+json``): a top-level ``status`` of pass/warn/fail and ``checks``
keyed ``component:measurement``, each an array of objects with ``componentId``,
``componentType``, ``observedValue``, ``observedUnit``, ``status``, ``time`` and
``output``. ``durationSeconds``, ``critical``, ``statusSince``, ``statusChanges`` and
``flapping`` are extensions (the format lets checks carry more fields).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from .history import FLAP_WINDOW, CheckHistory
from .model import CheckResult, Status, overall_status

CONTENT_TYPE = "application/health+json"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


def rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def check_key(result: CheckResult) -> str:
    return f"{result.name}:{result.measurement}" if result.measurement else result.name


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def check_entry(result: CheckResult, history: CheckHistory | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"componentId": result.name}
    if result.component_type:
        entry["componentType"] = result.component_type
    if result.observed_value is not None:
        entry["observedValue"] = _json_value(result.observed_value)
    if result.observed_unit:
        entry["observedUnit"] = result.observed_unit
    entry["status"] = result.status.health_json
    entry["time"] = rfc3339(result.timestamp)
    if result.details:
        entry["output"] = result.details
    entry["durationSeconds"] = round(result.duration, 6)
    entry["critical"] = result.critical
    if history is not None:
        if history.last_change is not None:
            entry["statusSince"] = rfc3339(history.last_change)
        entry["statusChanges"] = history.changes_within(FLAP_WINDOW)
        entry["flapping"] = history.is_flapping()
    return entry


def health_document(
    results: Iterable[CheckResult],
    *,
    status: Status | None = None,
    service_id: str | None = None,
    version: str | None = None,
    description: str | None = None,
    pending: Iterable[str] = (),
    histories: Mapping[str, CheckHistory] | None = None,
) -> dict[str, Any]:
    """The health+json document for these results (overall status computed if not given).

    With ``histories``, each check also says since when it has had its status
    (``statusSince``), how often it changed in the last 10 minutes and if it is flapping.
    """
    results = list(results)
    overall = overall_status(results) if status is None else status
    doc: dict[str, Any] = {"status": overall.health_json}
    if version:
        doc["version"] = version
    if service_id:
        doc["serviceId"] = service_id
    if description:
        doc["description"] = description
    checks: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        history = histories.get(result.name) if histories else None
        checks.setdefault(check_key(result), []).append(check_entry(result, history))
    doc["checks"] = checks
    failing = [r for r in results if r.status is not Status.HEALTHY]
    if failing:
        doc["output"] = "; ".join(
            f"{r.name}: {r.details or r.status.value}" for r in failing
        )
    pending = list(pending)
    if pending:
        doc["notes"] = [f"no result yet: {', '.join(pending)}"]
    return doc


def dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


_MARKS = {Status.HEALTHY: "+", Status.DEGRADED: "!", Status.UNHEALTHY: "-"}
_WORDS = {Status.HEALTHY: "passed", Status.DEGRADED: "degraded", Status.UNHEALTHY: "failed"}


def verbose_text(results: Iterable[CheckResult], status: Status, what: str = "health") -> str:
    """``[+]name ok`` per check and a closing verdict line, as Kubernetes' ``?verbose``."""
    lines = []
    for r in results:
        if r.status is Status.HEALTHY:
            lines.append(f"[+]{r.name} ok")
        else:
            word = "degraded" if r.status is Status.DEGRADED else "failed"
            detail = " ".join((r.details or "").split())
            lines.append(f"[{_MARKS[r.status]}]{r.name} {word}: {detail}".rstrip(": "))
    lines.append(f"{what} check {_WORDS[status]}")
    return "\n".join(lines) + "\n"
