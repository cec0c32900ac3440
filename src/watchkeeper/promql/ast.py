"""The PromQL syntax tree, with Prometheus's canonical text form via ``str()``."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchkeeper.promql.durations import format_duration
from watchkeeper.tsdb.matchers import Matcher

SCALAR, VECTOR, MATRIX, STRING = "scalar", "vector", "matrix", "string"
TYPE_NAMES = {SCALAR: "scalar", VECTOR: "instant vector", MATRIX: "range vector",
              STRING: "string"}


def format_number(value: float) -> str:
    """Go's strconv.FormatFloat(v, 'g'...) style used by Prometheus's printer."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


class Expr:
    """Base of every node; ``type`` is the value type the node evaluates to."""

    type: str = SCALAR
    pos: int = 0


@dataclass
class NumberLiteral(Expr):
    value: float
    type = SCALAR

    def __str__(self) -> str:
        return format_number(self.value)


@dataclass
class StringLiteral(Expr):
    value: str
    type = STRING

    def __str__(self) -> str:
        return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"').replace(
            "\n", "\\n") + '"'


@dataclass
class AtModifier:
    """``@ <unix seconds>`` as ms, or ``@ start()``/``@ end()`` (resolved at evaluation)."""

    timestamp_ms: int | None = None
    preprocessor: str | None = None  # "start" | "end"

    def __str__(self) -> str:
        if self.preprocessor:
            return f" @ {self.preprocessor}()"
        ms = self.timestamp_ms or 0
        return f" @ {ms // 1000}.{ms % 1000:03d}" if ms % 1000 else f" @ {ms // 1000}"


@dataclass
class VectorSelector(Expr):
    name: str | None
    matchers: list[Matcher]
    offset_ms: int = 0
    at: AtModifier | None = None
    type = VECTOR

    def __str__(self) -> str:
        shown = [m for m in self.matchers if not (self.name and m.name == "__name__")]
        text = (self.name or "") + ("{" + ",".join(str(m) for m in shown) + "}"
                                    if shown or not self.name else "")
        return text + _modifiers(self.offset_ms, self.at)


def _modifiers(offset_ms: int, at: AtModifier | None) -> str:
    text = str(at) if at else ""
    if offset_ms:
        text += f" offset {'-' if offset_ms < 0 else ''}{format_duration(abs(offset_ms))}"
    return text


@dataclass
class MatrixSelector(Expr):
    vector: VectorSelector
    range_ms: int
    type = MATRIX

    def __str__(self) -> str:
        v = self.vector
        base = VectorSelector(v.name, v.matchers)
        return f"{base}[{format_duration(self.range_ms)}]" + _modifiers(v.offset_ms, v.at)


@dataclass
class SubqueryExpr(Expr):
    expr: Expr
    range_ms: int
    step_ms: int = 0
    offset_ms: int = 0
    at: AtModifier | None = None
    type = MATRIX

    def __str__(self) -> str:
        step = format_duration(self.step_ms) if self.step_ms else ""
        return (f"{self.expr}[{format_duration(self.range_ms)}:{step}]"
                + _modifiers(self.offset_ms, self.at))


@dataclass
class ParenExpr(Expr):
    expr: Expr

    @property
    def type(self) -> str:  # type: ignore[override]
        return self.expr.type

    def __str__(self) -> str:
        return f"({self.expr})"


@dataclass
class UnaryExpr(Expr):
    op: str
    expr: Expr

    @property
    def type(self) -> str:  # type: ignore[override]
        return self.expr.type

    def __str__(self) -> str:
        return f"{self.op}{self.expr}"


@dataclass
class VectorMatching:
    card: str = "one-to-one"  # one-to-one | many-to-one | one-to-many | many-to-many
    on: bool = False
    labels: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)


@dataclass
class BinaryExpr(Expr):
    op: str
    lhs: Expr
    rhs: Expr
    return_bool: bool = False
    matching: VectorMatching | None = None

    @property
    def type(self) -> str:  # type: ignore[override]
        if self.lhs.type == SCALAR and self.rhs.type == SCALAR:
            return SCALAR
        return VECTOR

    def __str__(self) -> str:
        mod = " bool" if self.return_bool else ""
        m = self.matching
        if m and (m.on or m.labels):
            mod += f" {'on' if m.on else 'ignoring'}({', '.join(m.labels)})"
        if m and m.card in ("many-to-one", "one-to-many"):
            side = "group_left" if m.card == "many-to-one" else "group_right"
            mod += f" {side}({', '.join(m.include)})" if m.include else f" {side}"
        return f"{self.lhs} {self.op}{mod} {self.rhs}"


@dataclass
class AggregateExpr(Expr):
    op: str
    expr: Expr
    param: Expr | None = None
    grouping: list[str] = field(default_factory=list)
    without: bool = False
    by: bool = False
    type = VECTOR

    def __str__(self) -> str:
        grp = ""
        if self.without:
            grp = f" without ({', '.join(self.grouping)}) "
        elif self.by or self.grouping:
            grp = f" by ({', '.join(self.grouping)}) "
        args = f"{self.param}, {self.expr}" if self.param is not None else str(self.expr)
        return f"{self.op}{grp}({args})"


@dataclass
class Call(Expr):
    func: str
    args: list[Expr]
    return_type: str = VECTOR

    @property
    def type(self) -> str:  # type: ignore[override]
        return self.return_type

    def __str__(self) -> str:
        return f"{self.func}({', '.join(str(a) for a in self.args)})"


NODE_TYPES = (NumberLiteral, StringLiteral, VectorSelector, MatrixSelector, SubqueryExpr,
              ParenExpr, UnaryExpr, BinaryExpr, AggregateExpr, Call)


def depth(expr: Expr, limit: int) -> int:
    """How deep the tree is (counting stops past ``limit``), without recursing: a long
    chain such as ``a + a + ...`` is deep without any parenthesis."""
    deepest, stack = 0, [(expr, 1)]
    while stack and deepest <= limit:
        node, level = stack.pop()
        deepest = max(deepest, level)
        children = [getattr(node, name, None) for name in ("expr", "lhs", "rhs", "param",
                                                           "vector")]
        children.extend(getattr(node, "args", ()))
        stack.extend((child, level + 1) for child in children if isinstance(child, Expr))
    return deepest
