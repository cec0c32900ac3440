"""An opt-in logging handler: ``logger.exception(...)`` captures the exception it logs.

    logging.getLogger().addHandler(watchkeeper.integrations.errors.ErrorHandler())

Only records carrying an exception are captured (``logger.exception`` or
``exc_info=True`` at ERROR or above); plain messages stay logs.
"""

from __future__ import annotations

import logging

from .capture import capture_exception


class ErrorHandler(logging.Handler):
    """Captures the exception of every ERROR-or-worse record that has one."""

    def __init__(self, level: int = logging.ERROR) -> None:
        super().__init__(level)

    def emit(self, record: logging.LogRecord) -> None:
        info = record.exc_info
        if info and info[1] is not None:
            try:
                capture_exception(info[1])
            except Exception:
                self.handleError(record)


def install(logger: logging.Logger | None = None) -> ErrorHandler:
    """Add an :class:`ErrorHandler` to ``logger`` (the root logger by default) once."""
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        if isinstance(handler, ErrorHandler):
            return handler
    handler = ErrorHandler()
    target.addHandler(handler)
    return handler
