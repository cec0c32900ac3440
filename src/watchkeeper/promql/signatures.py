"""Argument and return types of every PromQL function, used to type-check calls."""

from __future__ import annotations

from typing import NamedTuple

from watchkeeper.promql.ast import MATRIX, SCALAR, STRING, VECTOR


class Signature(NamedTuple):
    args: tuple[str, ...]
    returns: str
    optional: int = 0  # how many trailing args may be left out
    variadic: bool = False  # the last arg type repeats


_MATH = ["abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "acos", "acosh",
         "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh",
         "deg", "rad"]
_RANGE_TO_VECTOR = ["changes", "delta", "deriv", "idelta", "increase", "irate", "rate", "resets",
                    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
                    "count_over_time", "stddev_over_time", "stdvar_over_time",
                    "last_over_time", "present_over_time", "absent_over_time"]
_DATE = ["day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute",
         "month", "year"]

FUNCTIONS: dict[str, Signature] = {
    **{name: Signature((VECTOR,), VECTOR) for name in _MATH},
    **{name: Signature((MATRIX,), VECTOR) for name in _RANGE_TO_VECTOR},
    **{name: Signature((VECTOR,), VECTOR, optional=1) for name in _DATE},
    "absent": Signature((VECTOR,), VECTOR),
    "clamp": Signature((VECTOR, SCALAR, SCALAR), VECTOR),
    "clamp_max": Signature((VECTOR, SCALAR), VECTOR),
    "clamp_min": Signature((VECTOR, SCALAR), VECTOR),
    "histogram_quantile": Signature((SCALAR, VECTOR), VECTOR),
    "holt_winters": Signature((MATRIX, SCALAR, SCALAR), VECTOR),
    "label_join": Signature((VECTOR, STRING, STRING, STRING), VECTOR, optional=1,
                            variadic=True),
    "label_replace": Signature((VECTOR, STRING, STRING, STRING, STRING), VECTOR),
    "pi": Signature((), SCALAR),
    "predict_linear": Signature((MATRIX, SCALAR), VECTOR),
    "quantile_over_time": Signature((SCALAR, MATRIX), VECTOR),
    "round": Signature((VECTOR, SCALAR), VECTOR, optional=1),
    "scalar": Signature((VECTOR,), SCALAR),
    "sort": Signature((VECTOR,), VECTOR),
    "sort_desc": Signature((VECTOR,), VECTOR),
    "time": Signature((), SCALAR),
    "timestamp": Signature((VECTOR,), VECTOR),
    "vector": Signature((SCALAR,), VECTOR),
}

AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                "count_values", "bottomk", "topk", "quantile"}
AGGREGATION_PARAM = {"count_values": STRING, "bottomk": SCALAR, "topk": SCALAR,
                     "quantile": SCALAR}
