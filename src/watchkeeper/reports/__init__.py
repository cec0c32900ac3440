"""Reports: a period's availability, alerts, golden signals, changes, capacity, store
health and error groups as HTML (inline SVG charts, print CSS), Markdown or PDF, built on
demand (``watchkeeper report``) or on a cron schedule by ``watchkeeper serve``.

Reads the store through PromQL and the alert history and error store through their own
functions; imports nothing of the server. Names are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_report": "watchkeeper.reports.build",
    "parse_period": "watchkeeper.reports.period",
    "render_html": "watchkeeper.reports.html",
    "render_markdown": "watchkeeper.reports.markdown",
    "html_to_pdf": "watchkeeper.reports.pdf",
    "Source": "watchkeeper.reports.source",
    "open_local": "watchkeeper.reports.source",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'watchkeeper.reports' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
