"""Logging for the server: plain lines or one JSON object per line (``--log-format json``).

Secrets never reach a log line: ``SECRETS``, a filter on every handler, replaces each secret
value of the running config (and any URL's ``user:password@`` and query values) in every
record, message and traceback alike, so no module that logs has to think of it.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from watchkeeper.config.secrets import Redactor


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info or record.exc_text:
            entry["error"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class SecretFilter(logging.Filter):
    """Redacts every record in place before any handler formats it."""

    def __init__(self) -> None:
        super().__init__()
        self.redactor = Redactor()
        self._plain = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor.text
        try:
            record.msg, record.args = redact(record.getMessage()), None
        except Exception:  # a broken format string: show it raw, still redacted
            record.msg, record.args = redact(f"{record.msg!r} {record.args!r}"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._plain.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


SECRETS = SecretFilter()


def protect(redactor: Redactor) -> None:
    """Redact ``redactor``'s secrets from now on, on every handler of the root logger
    (the server's own and any a host program or test installed)."""
    SECRETS.redactor = redactor
    for handler in logging.getLogger().handlers:
        if SECRETS not in handler.filters:
            handler.addFilter(SECRETS)


def setup_logging(log_format: str = "text", level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SECRETS)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
