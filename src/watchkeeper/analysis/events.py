"""The events around a moment, from the series that record them: what "what changed" shows
beside the series that moved, so a shift lines up with the deploy or the alert behind it.

Each kind is read from metrics the server already keeps (or scrapes), so a bare store
answers too:

- alerts: ``ALERTS{alertstate="firing"}`` appearing (firing) and ending (resolved);
- health transitions: ``watchkeeper_health_status`` changing (1 healthy, 0.5 degraded, 0 down);
- restarts: a process's start time (``process_start_time_seconds``,
  ``watchkeeper_start_time_seconds``) jumping; the event's time is the new start time;
- config reloads: ``*_config_last_reload_success_timestamp_seconds`` moving; likewise;
- new error groups: ``watchkeeper_error_group_first_seen_timestamp_seconds`` inside the window.

Times read off the grid are as precise as its step (the window over 240).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

_HEALTH = {1.0: "healthy", 0.5: "degraded", 0.0: "unhealthy"}
_KINDS = ("alert", "health", "restart", "reload", "error_group")


def _grid(engine: Any, expr: str, start_ms: int, end_ms: int, step_ms: int,
          ) -> tuple[list[dict[str, str]], np.ndarray, np.ndarray]:
    from .views import grid

    try:
        return grid(engine, expr, start_ms, end_ms, step_ms)
    except Exception:  # a name the store never saw, or a query over the limits
        return [], np.zeros(0), np.zeros((0, 0))


def _name(labels: dict[str, str], *skip: str) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())
                      if k not in ("__name__", *skip))
    return f"{{{inner}}}" if inner else ""


def _alerts(engine: Any, start: int, end: int, step: int) -> list[dict[str, Any]]:
    labels, times, values = _grid(engine, 'ALERTS{alertstate="firing"}', start, end, step)
    out = []
    for lbl, row in zip(labels, values, strict=True):
        on = np.isfinite(row)
        flips = np.flatnonzero(on[1:] != on[:-1]) + 1
        starts = [0] if on[0] and len(on) else []  # already firing when the window began
        for i in list(starts) + [int(f) for f in flips]:
            what = "firing" if on[i] else "resolved"
            if i == 0:
                what = "firing (before the window)"
            out.append({"time": float(times[i]), "kind": "alert",
                        "what": f"{lbl.get('alertname', '?')} {what}",
                        "labels": {k: v for k, v in lbl.items() if k != "__name__"}})
    return out


def _health(engine: Any, start: int, end: int, step: int) -> list[dict[str, Any]]:
    labels, times, values = _grid(engine, "watchkeeper_health_status", start, end, step)
    out = []
    for lbl, row in zip(labels, values, strict=True):
        ok = np.flatnonzero(np.isfinite(row))
        for a, b in itertools.pairwise(ok):
            if row[a] != row[b]:
                old = _HEALTH.get(float(row[a]), f"{row[a]:g}")
                new = _HEALTH.get(float(row[b]), f"{row[b]:g}")
                out.append({"time": float(times[b]), "kind": "health",
                            "what": f"check {lbl.get('check', '?')}: {old} -> {new}",
                            "labels": {k: v for k, v in lbl.items() if k != "__name__"}})
    return out


def _jumps(engine: Any, expr: str, kind: str, verb: str, start: int, end: int,
           step: int) -> list[dict[str, Any]]:
    """A timestamp-valued gauge moving: the event is at its new value."""
    labels, _, values = _grid(engine, expr, start, end, step)
    out = []
    for lbl, row in zip(labels, values, strict=True):
        ok = row[np.isfinite(row)]
        for new in np.unique(ok[1:][ok[1:] != ok[:-1]]) if len(ok) > 1 else []:
            if start / 1000 - step / 1000 <= new <= end / 1000:
                out.append({"time": float(new), "kind": kind,
                            "what": f"{lbl.get('__name__', expr)}{_name(lbl)} {verb}",
                            "labels": {k: v for k, v in lbl.items() if k != "__name__"}})
    return out


def _new_error_groups(engine: Any, start: int, end: int, step: int) -> list[dict[str, Any]]:
    labels, _, values = _grid(engine, "watchkeeper_error_group_first_seen_timestamp_seconds",
                              start, end, step)
    out = []
    for lbl, row in zip(labels, values, strict=True):
        ok = row[np.isfinite(row)]
        if len(ok) and start / 1000 <= ok[-1] <= end / 1000:
            out.append({"time": float(ok[-1]), "kind": "error_group",
                        "what": f"new error group {lbl.get('error_group', '?')} "
                                f"({lbl.get('error_type', '?')})",
                        "labels": {k: v for k, v in lbl.items() if k != "__name__"}})
    return out


def events_between(engine: Any, start_ms: int, end_ms: int,
                   kinds: tuple[str, ...] = _KINDS) -> list[dict[str, Any]]:
    """Every event of ``kinds`` between the two times, oldest first:
    ``{time (s), kind, what, labels}``."""
    step = max(1000, (end_ms - start_ms) // 240)
    out: list[dict[str, Any]] = []
    if "alert" in kinds:
        out += _alerts(engine, start_ms, end_ms, step)
    if "health" in kinds:
        out += _health(engine, start_ms, end_ms, step)
    if "restart" in kinds:
        out += _jumps(engine, '{__name__=~"process_start_time_seconds|'
                      'watchkeeper_start_time_seconds"}', "restart", "restarted",
                      start_ms, end_ms, step)
    if "reload" in kinds:
        out += _jumps(engine, '{__name__=~".+_config_last_reload_success_timestamp_seconds"}',
                      "reload", "config reloaded", start_ms, end_ms, step)
    if "error_group" in kinds:
        out += _new_error_groups(engine, start_ms, end_ms, step)
    return sorted(out, key=lambda e: (e["time"], e["kind"], e["what"]))
