"""PromQL: parse and evaluate Prometheus queries over a TimeSeriesStore."""

from watchkeeper.promql.errors import PromQLError, PromQLEvalError, PromQLParseError
from watchkeeper.promql.parser import parse

__all__ = ["PromQLError", "PromQLEvalError", "PromQLParseError", "parse"]
