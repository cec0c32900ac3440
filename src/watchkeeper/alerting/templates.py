"""Prometheus's alert template language: a faithful subset of Go's text/template.

Supported: ``{{ pipeline }}`` with ``|``, fields (``.Labels.job``), variables
(``$labels.x``, ``$value``, ``$externalLabels``, ``$x := ...``), string/number/bool
literals, parentheses, ``if/else if/else/end``, ``range [$i, $v :=] ... [else] end``,
``with``, comments and ``{{-``/``-}}`` trimming, and Prometheus's functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from watchkeeper.alerting import template_funcs as tf
from watchkeeper.alerting.template_funcs import FUNCTIONS, TemplateError
from watchkeeper.alerting.template_parse import Arg, Node, Parser, Pipeline


def _lookup(value: Any, chain: tuple[str, ...]) -> Any:
    for key in chain:
        if isinstance(value, Mapping):
            value = value.get(key, "")  # missingkey=zero, as Prometheus runs templates
        elif value is None:
            return None
        else:
            raise TemplateError(f"can't evaluate field {key} in type {type(value).__name__}")
    return value


@dataclass
class _Scope:
    dot: Any
    vars: dict[str, Any]


class _Exec:
    def __init__(self, funcs: Mapping[str, Callable[..., Any]], name: str,
                 defines: Mapping[str, list[Node]] | None = None) -> None:
        self.funcs, self.name, self.out = funcs, name, []
        self.defines, self.depth = defines or {}, 0

    def run(self, nodes: list[Node], scope: _Scope) -> None:
        for node in nodes:
            if node.kind == "text":
                self.out.append(node.text)
            elif node.kind == "action":
                value = self.pipe(node.pipe, scope)  # type: ignore[arg-type]
                if not node.pipe.decls:  # type: ignore[union-attr]
                    self.out.append(tf.stringify(value))
            elif node.kind in ("if", "with"):
                inner = _Scope(scope.dot, dict(scope.vars))
                value = self.pipe(node.pipe, inner)  # type: ignore[arg-type]
                if tf.truthy(value):
                    if node.kind == "with":
                        inner.dot = value
                    self.run(node.body, inner)
                else:
                    self.run(node.alt, _Scope(scope.dot, dict(scope.vars)))
            elif node.kind == "range":
                self._range(node, scope)
            elif node.kind == "template":
                self._template(node, scope)

    def _template(self, node: Node, scope: _Scope) -> None:
        body = self.defines.get(node.text)
        if body is None:
            raise TemplateError(f'{self.name}: no such template "{node.text}"')
        if self.depth > 100:
            raise TemplateError(f"{self.name}: exceeded maximum template depth (100)")
        dot = self.pipe(node.pipe, scope) if node.pipe is not None else None
        self.depth += 1
        try:
            self.run(body, _Scope(dot, {"$": dot}))
        finally:
            self.depth -= 1

    def _range(self, node: Node, scope: _Scope) -> None:
        pipe = node.pipe
        value = self.pipe(Pipeline([], pipe.commands), scope)  # type: ignore[union-attr]
        if isinstance(value, Mapping):
            items = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, list | tuple):
            items = list(enumerate(value))
        elif value is None:
            items = []
        else:
            raise TemplateError(f"{self.name}: range can't iterate over {tf.stringify(value)}")
        if not items:
            self.run(node.alt, _Scope(scope.dot, dict(scope.vars)))
        for key, item in items:
            inner = _Scope(item, dict(scope.vars))
            decls = pipe.decls  # type: ignore[union-attr]
            if len(decls) == 1:
                inner.vars[decls[0]] = item
            elif len(decls) == 2:
                inner.vars[decls[0]], inner.vars[decls[1]] = key, item
            self.run(node.body, inner)

    def pipe(self, pipe: Pipeline, scope: _Scope) -> Any:
        value: Any = None
        for i, command in enumerate(pipe.commands):
            value = self.command(command, scope, value, piped=i > 0)
        for name in pipe.decls:
            if pipe.assign and name not in scope.vars:
                raise TemplateError(f"{self.name}: undefined variable: {name}")
            scope.vars[name] = value
        return value

    def command(self, args: list[Arg], scope: _Scope, piped_value: Any, piped: bool) -> Any:
        head = args[0]
        if head.kind == "ident":
            values = [self.arg(a, scope) for a in args[1:]]
            if piped:
                values.append(piped_value)
            try:
                result = self.funcs[head.value](*values)
            except TemplateError as e:
                raise TemplateError(f"{self.name}: error calling {head.value}: {e}") from None
            except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError) as e:
                raise TemplateError(f"{self.name}: error calling {head.value}: {e}") from None
            return _lookup(result, head.chain)
        if len(args) > 1 or piped:
            raise TemplateError(f"{self.name}: can't give argument to non-function")
        return self.arg(head, scope)

    def arg(self, arg: Arg, scope: _Scope) -> Any:
        if arg.kind == "lit":
            return arg.value
        if arg.kind == "field":
            return _lookup(scope.dot, arg.chain)
        if arg.kind == "var":
            if arg.value not in scope.vars:
                raise TemplateError(f"{self.name}: undefined variable \"{arg.value}\"")
            return _lookup(scope.vars[arg.value], arg.chain)
        if arg.kind == "pipe":
            return _lookup(self.pipe(arg.value, _Scope(scope.dot, scope.vars)), arg.chain)
        return _lookup(self.funcs[arg.value](), arg.chain)


class Template:
    """A parsed template; ``render`` executes it against one alert's data."""

    def __init__(self, text: str, name: str = "template") -> None:
        self.text, self.name = text, name
        parser = Parser(text, name)
        self.nodes, self.defines = parser.parse(), parser.defines

    def render(self, data: Mapping[str, Any], query: Callable[[str], list] | None = None,
               variables: Mapping[str, Any] | None = None) -> str:
        funcs = dict(FUNCTIONS)
        if query is not None:
            funcs["query"] = query
        runner = _Exec(funcs, self.name, self.defines)
        scope = _Scope(data, {"$": data, **(variables or {})})
        runner.run(self.nodes, scope)
        return "".join(runner.out)


def render_alert_template(text: str, name: str, labels: Mapping[str, str], value: float,
                          external_labels: Mapping[str, str] | None = None,
                          external_url: str = "",
                          query: Callable[[str], list] | None = None) -> str:
    """Expand one label or annotation as Prometheus does, with its standard variables."""
    external = dict(external_labels or {})
    data = {"Labels": dict(labels), "ExternalLabels": external, "ExternalURL": external_url,
            "Value": value}
    variables = {"$labels": data["Labels"], "$externalLabels": external,
                 "$externalURL": external_url, "$value": value}
    return Template(text, name).render(data, query, variables)


def check_template(text: str, name: str) -> None:
    """Raise TemplateError if ``text`` does not parse (what promtool checks)."""
    Parser(text, name).parse()
