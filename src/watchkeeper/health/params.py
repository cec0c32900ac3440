"""Validation of a check's parameters against its constructor, reusable by any config.

A built-in check declares its parameters as keyword-only arguments of ``__init__`` with
type hints and defaults; that signature is the schema. Errors name the parameter so a
config loader can point at the line it came from.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

COMMON = ("name", "timeout", "critical", "interval")


class ParameterError(ValueError):
    """A bad parameter; ``key`` is the offending parameter name when there is one."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def parameter_spec(cls: type) -> dict[str, tuple[Any, Any]]:
    """name -> (type hint, default or ``inspect.Parameter.empty``) of a check class."""
    signature = inspect.signature(cls.__init__)
    hints = typing.get_type_hints(cls.__init__)
    return {
        p.name: (hints.get(p.name, Any), p.default)
        for p in signature.parameters.values()
        if p.kind is p.KEYWORD_ONLY and p.name not in COMMON
    }


def validate_parameters(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters, checked against the class's signature; raises ``ParameterError``."""
    if not isinstance(params, Mapping):
        raise ParameterError(f"parameters must be a mapping, not {_kind(params)}")
    spec = parameter_spec(cls)
    label = getattr(cls, "type", cls.__name__)
    for key, value in params.items():
        if key not in spec:
            known = ", ".join(sorted(spec)) or "none"
            raise ParameterError(
                f"unknown parameter {key!r} for a {label} check{did_you_mean(key, spec)} "
                f"(known: {known})", str(key)
            )
        problem = _mismatch(value, spec[key][0])
        if problem:
            raise ParameterError(f"parameter {key!r}: {problem}", key)
    missing = [k for k, (_, default) in spec.items()
               if default is inspect.Parameter.empty and k not in params]
    if missing:
        raise ParameterError(
            f"missing required parameter {missing[0]!r} for a {label} check", None
        )
    return dict(params)


def did_you_mean(word: Any, choices: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for a near miss, else nothing."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin is list:
        return f"a list of {_describe(typing.get_args(hint)[0]).removeprefix('a ')}s"
    if origin is dict:
        return "a mapping"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "null"
    return _kind(hint()) if hint in (bool, int, float, str, list, dict) else str(hint)


def _mismatch(value: Any, hint: Any) -> str | None:
    """None if ``value`` fits ``hint``, else what was expected."""
    if _fits(value, hint):
        return None
    return f"expected {_describe(hint)}, got {_kind(value)} {value!r}"


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if origin is dict:
        key, item = typing.get_args(hint) or (Any, Any)
        return isinstance(value, dict) and all(
            _fits(k, key) and _fits(v, item) for k, v in value.items()
        )
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)
