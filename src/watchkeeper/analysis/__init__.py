"""Analysis on numpy alone: anomaly scores, forecasts and time until full.

Nothing here imports the server; the CLI, the server and the MCP tools call the same
functions. Names are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AnomalyDetector": "watchkeeper.analysis.anomaly",
    "anomaly_scores": "watchkeeper.analysis.anomaly",
    "ANOMALY_THRESHOLD": "watchkeeper.analysis.anomaly",
    "theil_sen": "watchkeeper.analysis.forecasting",
    "holt": "watchkeeper.analysis.forecasting",
    "holt_winters": "watchkeeper.analysis.forecasting",
    "forecast": "watchkeeper.analysis.forecasting",
    "time_until_full": "watchkeeper.analysis.capacity",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'watchkeeper.analysis' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
