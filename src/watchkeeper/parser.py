"""``watchkeeper.parser``: the same names as ``prometheus_client.parser``, for drop-in use."""

from .exposition.parse import (
    ParseError,
    openmetrics_fd_to_metric_families,
    openmetrics_string_to_metric_families,
    parse,
    text_fd_to_metric_families,
    text_string_to_metric_families,
)

__all__ = [
    "ParseError",
    "openmetrics_fd_to_metric_families",
    "openmetrics_string_to_metric_families",
    "parse",
    "text_fd_to_metric_families",
    "text_string_to_metric_families",
]
