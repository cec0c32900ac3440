"""A captured exception as a Sentry-shaped event dict: the one shape every sink reads.

Built off the request path (by the drain thread), from the exception object the queue
kept: frames with file, line, module, function and local variables (``repr`` truncated,
secrets redacted). Because it is Sentry's shape, the store and the envelope endpoint read
events from both sources with one function.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from .grouping import chain, is_library
from .groups import exception_tree
from .redact import REDACTED, is_secret

MAX_VARS = 30
MAX_REPR = 200
MAX_FRAMES = 50


def _repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} (repr failed)>"
    return text if len(text) <= MAX_REPR else text[:MAX_REPR - 3] + "..."


def _vars(f_locals: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in list(f_locals.items())[:MAX_VARS]:
        out[name] = REDACTED if is_secret(name) else _repr(value)
    return out


def _frames(exc: BaseException, with_locals: bool) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        module = frame.f_globals.get("__name__")
        module = module if isinstance(module, str) else None
        item: dict[str, Any] = {
            "module": module, "function": code.co_name, "lineno": tb.tb_lineno,
            "abs_path": code.co_filename, "filename": os.path.basename(code.co_filename),
            "in_app": not is_library(module, code.co_filename)}
        if with_locals:
            item["vars"] = _vars(frame.f_locals)
        frames.append(item)
        tb = tb.tb_next
    return frames[-MAX_FRAMES:]


def _value(e: BaseException, with_locals: bool) -> dict[str, Any]:
    cls = type(e)
    module = getattr(cls, "__module__", None)
    try:
        message = str(e)
    except Exception:
        message = ""
    return {
        "type": getattr(cls, "__qualname__", cls.__name__),
        "module": None if module in ("builtins", "__builtins__") else module,
        "value": message[:4096],
        "stacktrace": {"frames": _frames(e, with_locals)},
    }


def _group_values(exc: BaseException, with_locals: bool) -> list[dict[str, Any]]:
    """Every exception of the group's tree, each with ``mechanism.exception_id``,
    ``parent_id`` and ``source`` as sentry-sdk sends them (so the store, the dashboard
    and Sentry itself read the tree alike)."""
    values = []
    for i, (e, parent, source) in enumerate(exception_tree(exc)):
        value = _value(e, with_locals)
        mechanism: dict[str, Any] = {"type": "generic" if i == 0 else "chained",
                                     "exception_id": i}
        if i:
            mechanism.update(parent_id=parent, source=source)
        if isinstance(e, BaseExceptionGroup):
            mechanism["is_exception_group"] = True
        value["mechanism"] = mechanism
        values.append(value)
    values.reverse()  # oldest first, as the exception interface orders them
    return values


def build_event(exc: BaseException, *, timestamp: float, route: str = "",
                user: str | None = None, release: str | None = None,
                environment: str | None = None, fingerprint: list[str] | None = None,
                with_locals: bool = True, extra_tags: dict[str, str] | None = None
                ) -> dict[str, Any]:
    """The event dict of ``exc`` (its whole cause/context chain, oldest first; an
    exception group's tree in sentry-sdk's layout, with ``mechanism`` ids)."""
    if isinstance(exc, BaseExceptionGroup):
        values = _group_values(exc, with_locals)
    else:
        values = [_value(e, with_locals) for e in chain(exc)]
    event: dict[str, Any] = {
        "event_id": uuid.uuid4().hex, "timestamp": timestamp, "platform": "python",
        "level": "error", "exception": {"values": values},
        "tags": {"http_route": route, **(extra_tags or {})},
    }
    if user is not None:
        event["user"] = {"id": user}
    if release:
        event["release"] = release
    if environment:
        event["environment"] = environment
    if fingerprint:
        event["fingerprint"] = list(fingerprint)
    return event
