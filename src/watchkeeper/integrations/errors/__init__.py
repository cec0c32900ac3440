"""Error tracking on the instrumentation side: capture, group, count, hand to a sink.

    import watchkeeper
    try:
        charge(order)
    except PaymentError:
        watchkeeper.capture_exception()      # counted in errors_total{error_group, ...}

Stdlib only. The store (``watchkeeper.errorstore``) or a server (``send_to``) receives the
full events; without either, the counter on ``/metrics`` is all there is.
"""

from __future__ import annotations

from .capture import (
    CAPTURE,
    ErrorCapture,
    capture_exception,
    configure,
    on_unhandled,
    reset_user,
    set_user,
)
from .grouping import Components, components_of_event, components_of_exception, explain
from .grouping import group_id as group_id
from .logs import ErrorHandler, install
from .transport import EnvelopeSender, send_to

__all__ = ["CAPTURE", "Components", "EnvelopeSender", "ErrorCapture", "ErrorHandler",
           "capture_exception", "components_of_event", "components_of_exception",
           "configure", "explain", "group_id", "install", "on_unhandled", "reset_user",
           "send_to", "set_user"]
