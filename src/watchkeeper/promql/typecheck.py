"""Prometheus's type rules for parsed expressions: which operand types each operator,
range, subquery, aggregation and function accepts.

Kept apart from the grammar so the parser reads as syntax. Every rule raises the message
Prometheus gives, at the position of the operator, bracket or name it is about.
"""

from __future__ import annotations

from watchkeeper.promql import ast
from watchkeeper.promql.ast import MATRIX, SCALAR, STRING, TYPE_NAMES, VECTOR
from watchkeeper.promql.errors import PromQLParseError
from watchkeeper.promql.signatures import AGGREGATION_PARAM, FUNCTIONS, Signature

COMPARISON = {"==", "!=", "<=", "<", ">=", ">"}
SET_OPS = {"and", "or", "unless"}


def check_unary(operand: ast.Expr, text: str, pos: int) -> None:
    if operand.type not in (SCALAR, VECTOR):
        raise PromQLParseError("unary expression only allowed on expressions of type scalar "
                               "or instant vector", text, pos)


def check_subquery(expr: ast.Expr, range_ms: int, text: str, pos: int) -> None:
    if expr.type not in (SCALAR, VECTOR):
        raise PromQLParseError(f"subquery is only allowed on instant vector, got "
                               f"{TYPE_NAMES[expr.type]}", text, pos)
    if range_ms == 0:
        raise PromQLParseError("zero range in subquery", text, pos)


def check_range(expr: ast.Expr, range_ms: int, text: str, pos: int) -> ast.VectorSelector:
    """The selector a range applies to: a plain one, without modifiers, over some time."""
    if not isinstance(expr, ast.VectorSelector):
        raise PromQLParseError("ranges only allowed for vector selectors", text, pos)
    if expr.offset_ms or expr.at:
        raise PromQLParseError("no offset or @ modifiers allowed before range", text, pos)
    if range_ms == 0:
        raise PromQLParseError("range selector must have a range larger than 0", text, pos)
    return expr


def check_aggregation(op: str, args: list[ast.Expr], text: str, pos: int) -> None:
    """The argument count (a parameter for topk, quantile...) and both arguments' types."""
    need = 2 if op in AGGREGATION_PARAM else 1
    if len(args) != need:
        raise PromQLParseError(f"wrong number of arguments for aggregate expression "
                               f"provided, expected {need}, got {len(args)}", text, pos)
    if need == 2:
        want = AGGREGATION_PARAM[op]
        if args[0].type != want:
            raise PromQLParseError(f"expected type {TYPE_NAMES[want]} in aggregation "
                                   f"parameter, got {TYPE_NAMES[args[0].type]}", text, pos)
    if args[-1].type != VECTOR:
        raise PromQLParseError(f"expected type instant vector in aggregation expression, got "
                               f"{TYPE_NAMES[args[-1].type]}", text, pos)


def check_call(name: str, args: list[ast.Expr], text: str, pos: int) -> Signature:
    """The function's signature, once the arguments fit it."""
    sig = FUNCTIONS[name]
    low, high = len(sig.args) - sig.optional, len(sig.args)
    if len(args) < low or (len(args) > high and not sig.variadic):
        count = str(high) if low == high else f"{low} to {high}"
        raise PromQLParseError(f'expected {count} argument(s) in call to "{name}", '
                               f"got {len(args)}", text, pos)
    for index, arg in enumerate(args):
        want = sig.args[min(index, len(sig.args) - 1)]
        if arg.type != want:
            raise PromQLParseError(f"expected type {TYPE_NAMES[want]} in call to function "
                                   f'"{name}", got {TYPE_NAMES[arg.type]}', text, pos)
    return sig


def check_binary(node: ast.BinaryExpr, text: str, pos: int) -> ast.BinaryExpr:
    """The operands' types; vector matching is dropped where a side is a scalar."""
    lt, rt = node.lhs.type, node.rhs.type
    for t in (lt, rt):
        if t not in (SCALAR, VECTOR):
            raise PromQLParseError("binary expression must contain only scalar and instant "
                                   "vector types", text, pos)
    if node.op in SET_OPS and (lt == SCALAR or rt == SCALAR):
        raise PromQLParseError(f'set operator "{node.op}" not allowed in binary scalar '
                               "expression", text, pos)
    if node.op in COMPARISON and lt == SCALAR and rt == SCALAR and not node.return_bool:
        raise PromQLParseError("comparisons between scalars must use BOOL modifier", text,
                               pos)
    m = node.matching
    if (lt != VECTOR or rt != VECTOR) and m is not None:
        if m.on or m.labels or m.card in ("many-to-one", "one-to-many"):
            raise PromQLParseError("vector matching only allowed between instant vectors",
                                   text, pos)
        node.matching = None
    if lt in (STRING, MATRIX) or rt == STRING:
        raise PromQLParseError("binary expression must contain only scalar and instant "
                               "vector types", text, pos)
    return node
