"""A precedence-climbing PromQL parser producing ``ast`` nodes, type-checked as Prometheus
(the type rules are in ``typecheck``).

Errors name the line:column and what was expected, e.g.
``1:9: parse error: unexpected end of input, expected ")"``.
"""

from __future__ import annotations

import re

from watchkeeper.promql import ast
from watchkeeper.promql.cursor import TokenCursor
from watchkeeper.promql.durations import MAX_TIME_MS, parse_duration
from watchkeeper.promql.errors import PromQLParseError
from watchkeeper.promql.lexer import Token
from watchkeeper.promql.signatures import AGGREGATIONS, FUNCTIONS
from watchkeeper.promql.typecheck import (
    COMPARISON,
    SET_OPS,
    check_aggregation,
    check_binary,
    check_call,
    check_range,
    check_subquery,
    check_unary,
)
from watchkeeper.tsdb.errors import BadMatcherError
from watchkeeper.tsdb.matchers import Matcher

PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3,
              ">": 3, "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_MAX_DEPTH = 200
_TOO_DEEP = f"expression nested too deeply (more than {_MAX_DEPTH} levels)"


def parse(text: str) -> ast.Expr:
    """Parse a PromQL expression; raises PromQLParseError naming line:column."""
    try:
        expr = _Parser(text).parse_all()
    except RecursionError:  # a safety net: the parser's depth counter stops it first
        raise PromQLParseError(_TOO_DEEP, text) from None
    if ast.depth(expr, _MAX_DEPTH) > _MAX_DEPTH:  # a long chain (a + a + ...) too
        raise PromQLParseError(_TOO_DEEP, text)
    return expr


class _Parser(TokenCursor):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0

    # ------------------------------------------------------------------ grammar
    def parse_all(self) -> ast.Expr:
        if self.tok.kind == "EOF":
            raise self.error("no expression found in input")
        expr = self.parse_expr(0)
        if self.tok.kind != "EOF":
            raise self.unexpected("end of input or an operator")
        return expr

    def binary_op(self) -> str | None:
        tok = self.tok
        if tok.kind == "OP" and tok.text in PRECEDENCE:
            return tok.text
        if tok.kind == "KEYWORD" and tok.text.lower() in SET_OPS:
            return tok.text.lower()
        if tok.kind == "IDENT" and tok.text == "atan2":
            return "atan2"
        return None

    def parse_expr(self, min_prec: int) -> ast.Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error(_TOO_DEEP)
        lhs = self.parse_unary()
        while True:
            op = self.binary_op()
            if op is None or PRECEDENCE[op] < min_prec:
                break
            op_tok = self.advance()
            prec = PRECEDENCE[op]
            return_bool, matching = self.parse_binary_modifiers(op, op_tok)
            rhs = self.parse_expr(prec if op == "^" else prec + 1)
            lhs = check_binary(ast.BinaryExpr(op, lhs, rhs, return_bool, matching),
                               self.text, op_tok.pos)
        self.depth -= 1
        return lhs

    def parse_binary_modifiers(self, op: str, op_tok: Token) -> tuple[bool, ast.VectorMatching]:
        return_bool = False
        if self.is_keyword("bool"):
            if op not in COMPARISON:
                raise self.error("bool modifier can only be used on comparison operators")
            self.advance()
            return_bool = True
        matching = ast.VectorMatching(card="many-to-many" if op in SET_OPS else "one-to-one")
        if self.is_keyword("on") or self.is_keyword("ignoring"):
            matching.on = self.advance().text.lower() == "on"
            matching.labels = self.parse_label_list()
            if self.is_keyword("group_left") or self.is_keyword("group_right"):
                if op in SET_OPS:
                    raise self.error(f'no grouping allowed for "{op}" operation')
                side = self.advance().text.lower()
                matching.card = "many-to-one" if side == "group_left" else "one-to-many"
                if self.is_op("("):
                    matching.include = self.parse_label_list()
                for name in matching.include:
                    if matching.on and name in matching.labels:
                        raise self.error(f'label "{name}" must not occur in ON and GROUP '
                                         "clause at once", op_tok.pos)
        elif self.is_keyword("group_left") or self.is_keyword("group_right"):
            raise self.unexpected('"on" or "ignoring" before the grouping modifier')
        return return_bool, matching

    def parse_label_list(self) -> list[str]:
        self.expect_op("(")
        names: list[str] = []
        while not self.is_op(")"):
            tok = self.tok
            if tok.kind not in ("IDENT", "KEYWORD") or not _LABEL_NAME.fullmatch(tok.text):
                raise self.unexpected('a label name or ")"')
            names.append(self.advance().text)
            if self.is_op(","):
                self.advance()
            elif not self.is_op(")"):
                raise self.unexpected('"," or ")"')
        self.advance()
        return names

    def parse_unary(self) -> ast.Expr:
        if self.is_op("-") or self.is_op("+"):
            op_tok = self.advance()
            operand = self.parse_expr(PRECEDENCE["^"])
            check_unary(operand, self.text, op_tok.pos)
            if op_tok.text == "+":
                return operand
            if isinstance(operand, ast.NumberLiteral):
                return ast.NumberLiteral(-operand.value)
            return ast.UnaryExpr("-", operand)
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, expr: ast.Expr) -> ast.Expr:
        while True:
            if self.is_op("["):
                expr = self.parse_range(expr)
            elif self.is_keyword("offset"):
                expr = self.parse_offset(expr)
            elif self.is_op("@"):
                expr = self.parse_at(expr)
            else:
                return expr

    def parse_duration_token(self) -> int:
        tok = self.tok
        if tok.kind == "NUMBER" and tok.text.isdigit() and tok.text == "0":
            self.advance()
            return 0
        if tok.kind != "DURATION":
            raise self.unexpected("a duration such as 5m")
        self.advance()
        try:
            return parse_duration(tok.text)
        except ValueError as e:
            raise self.error(str(e), tok.pos) from None

    def parse_range(self, expr: ast.Expr) -> ast.Expr:
        open_tok = self.advance()
        range_ms = self.parse_duration_token()
        if self.is_op(":"):
            self.advance()
            step_ms = 0 if self.is_op("]") else self.parse_duration_token()
            self.expect_op("]")
            check_subquery(expr, range_ms, self.text, open_tok.pos)
            return ast.SubqueryExpr(expr, range_ms, step_ms)
        self.expect_op("]")
        return ast.MatrixSelector(check_range(expr, range_ms, self.text, open_tok.pos),
                                  range_ms)

    def _modifier_target(self, expr: ast.Expr, what: str, pos: int) -> object:
        if isinstance(expr, ast.MatrixSelector):
            return expr.vector
        if isinstance(expr, ast.VectorSelector | ast.SubqueryExpr):
            return expr
        raise self.error(f"{what} modifier must be preceded by an instant vector selector or "
                         "range vector selector or a subquery", pos)

    def parse_offset(self, expr: ast.Expr) -> ast.Expr:
        kw = self.advance()
        target = self._modifier_target(expr, "offset", kw.pos)
        sign = 1
        if self.is_op("-"):
            self.advance()
            sign = -1
        ms = self.parse_duration_token() * sign
        if target.offset_ms:  # type: ignore[attr-defined]
            raise self.error("offset may not be set multiple times", kw.pos)
        target.offset_ms = ms  # type: ignore[attr-defined]
        return expr

    def parse_at(self, expr: ast.Expr) -> ast.Expr:
        at_tok = self.advance()
        target = self._modifier_target(expr, "@", at_tok.pos)
        if target.at is not None:  # type: ignore[attr-defined]
            raise self.error("@ <timestamp> may not be set multiple times", at_tok.pos)
        sign = 1.0
        if self.is_op("-") or self.is_op("+"):
            sign = -1.0 if self.advance().text == "-" else 1.0
        tok = self.tok
        if tok.kind == "NUMBER":
            self.advance()
            value = sign * float(tok.value)  # type: ignore[arg-type]
            if not abs(value) * 1000 <= MAX_TIME_MS:  # NaN too
                raise self.error("timestamp out of bounds for @ modifier", tok.pos)
            modifier = ast.AtModifier(timestamp_ms=round(value * 1000))
        elif tok.kind == "IDENT" and tok.text in ("start", "end") and self.peek().text == "(":
            self.advance()
            self.expect_op("(")
            self.expect_op(")")
            modifier = ast.AtModifier(preprocessor=tok.text)
        else:
            raise self.unexpected("a timestamp or start() or end() after @")
        target.at = modifier  # type: ignore[attr-defined]
        return expr

    def parse_primary(self) -> ast.Expr:
        tok = self.tok
        if tok.kind == "NUMBER":
            self.advance()
            return ast.NumberLiteral(float(tok.value))  # type: ignore[arg-type]
        if tok.kind == "STRING":
            self.advance()
            return ast.StringLiteral(str(tok.value))
        if tok.kind == "DURATION":
            raise self.error(f"unexpected duration {tok.text!r}, expected an expression")
        if self.is_op("("):
            self.advance()
            inner = self.parse_expr(0)
            self.expect_op(")")
            return ast.ParenExpr(inner)
        if self.is_op("{"):
            return self.parse_selector(None, tok.pos)
        if tok.kind == "IDENT":
            name = tok.text
            nxt = self.peek()
            if name.lower() in AGGREGATIONS and (
                nxt.text == "(" or nxt.text.lower() in ("by", "without")
            ):
                return self.parse_aggregation()
            if nxt.kind == "OP" and nxt.text == "(":
                if name not in FUNCTIONS:
                    raise self.error(f'unknown function with name "{name}"')
                return self.parse_call()
            if name.lower() in ("inf", "nan"):
                self.advance()
                return ast.NumberLiteral(float(name.lower()))
            self.advance()
            return self.parse_selector(name, tok.pos)
        raise self.unexpected("an expression")

    def parse_selector(self, name: str | None, pos: int) -> ast.VectorSelector:
        matchers: list[Matcher] = []
        if name is not None:
            matchers.append(Matcher("__name__", "=", name))
        if self.is_op("{"):
            self.advance()
            while not self.is_op("}"):
                matchers.append(self.parse_matcher())
                if self.is_op(","):
                    self.advance()
                elif not self.is_op("}"):
                    raise self.unexpected('"," or "}"')
            self.advance()
        names = [m for m in matchers if m.name == "__name__"]
        if name is not None and len(names) > 1:
            raise self.error("metric name must not be set twice", pos)
        if not any(not m.matches_empty for m in matchers):
            raise self.error("vector selector must contain at least one non-empty matcher", pos)
        if name is None and names and names[0].op == "=":
            name = names[0].value
        sel = ast.VectorSelector(name, matchers)
        sel.pos = pos
        return sel

    def parse_matcher(self) -> Matcher:
        tok = self.tok
        if tok.kind not in ("IDENT", "KEYWORD") or not _LABEL_NAME.fullmatch(tok.text):
            raise self.unexpected('a label name or "}"')
        self.advance()
        op = self.tok
        if op.kind != "OP" or op.text not in ("=", "!=", "=~", "!~"):
            raise self.unexpected("a label matching operator (=, !=, =~ or !~)")
        self.advance()
        value = self.tok
        if value.kind != "STRING":
            raise self.unexpected("a quoted label value")
        self.advance()
        try:
            return Matcher(tok.text, op.text, str(value.value))
        except BadMatcherError as e:
            raise self.error(str(e), value.pos) from None

    def parse_grouping(self, agg: ast.AggregateExpr) -> None:
        if agg.by or agg.without:
            raise self.error("aggregation may have only one by or without clause")
        agg.without = self.advance().text.lower() == "without"
        agg.by = not agg.without
        agg.grouping = self.parse_label_list()

    def parse_aggregation(self) -> ast.Expr:
        op_tok = self.advance()
        op = op_tok.text.lower()
        agg = ast.AggregateExpr(op, ast.NumberLiteral(0))
        if self.is_keyword("by") or self.is_keyword("without"):
            self.parse_grouping(agg)
        self.expect_op("(")
        args = self.parse_args()
        if self.is_keyword("by") or self.is_keyword("without"):
            self.parse_grouping(agg)
        check_aggregation(op, args, self.text, op_tok.pos)
        agg.expr = args[-1]
        if len(args) == 2:
            agg.param = args[0]
        return agg

    def parse_args(self) -> list[ast.Expr]:
        args: list[ast.Expr] = []
        while not self.is_op(")"):
            args.append(self.parse_expr(0))
            if self.is_op(","):
                self.advance()
            elif not self.is_op(")"):
                raise self.unexpected('"," or ")"')
        self.advance()
        return args

    def parse_call(self) -> ast.Expr:
        name_tok = self.advance()
        self.advance()  # "("
        args = self.parse_args()
        sig = check_call(name_tok.text, args, self.text, name_tok.pos)
        call = ast.Call(name_tok.text, args, sig.returns)
        call.pos = name_tok.pos
        return call
