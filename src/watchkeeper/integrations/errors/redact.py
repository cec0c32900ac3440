"""Secrets never stored: values under keys that name a credential are replaced.

Applied to a sample's local variables, request headers and extra data wherever they come
from (a live exception or a Sentry event), before anything is queued or written.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
SECRET_KEY = re.compile(
    r"pass(?:word|wd)?|pwd|token|secret|authori[sz]ation|auth|cookie|session|csrf|"
    r"api[-_]?key|private[-_]?key|credential|signature|dsn", re.IGNORECASE)
MAX_DEPTH = 12


_seen: dict[str, bool] = {}


def is_secret(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    try:
        return _seen[key]
    except KeyError:
        secret = SECRET_KEY.search(key) is not None
        if len(_seen) < 10_000:
            _seen[key] = secret
        return secret


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of a JSON-like value with secret keys' values replaced (nested too)."""
    if depth > MAX_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {k: (REDACTED if is_secret(k) else redact(v, depth + 1))
                for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(p, list) and len(p) == 2 for p in value):
            # header pairs [[name, value], ...]
            return [[p[0], REDACTED if is_secret(p[0]) else redact(p[1], depth + 1)]
                    for p in value]
        return [redact(v, depth + 1) for v in value]
    return value
