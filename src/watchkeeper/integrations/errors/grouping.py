"""Which events are the same error: a fingerprint as Sentry computes one, and why.

Two events share a group when their exception-type chains are equal and their in-app
frames (module and function, never line numbers) are equal: a deploy that shifts lines,
an id in the message or a different library version below the app keep the group. Without
any in-app frame the stack says nothing about the app, so the message decides instead,
with the parts that vary per event (numbers, UUIDs, hex, quoted strings) stripped. A user
fingerprint replaces that, or extends it where it names ``{{ default }}``.

Both a live exception (:func:`components_of_exception`, the fast path: one dict lookup per
frame) and a Sentry-shaped event dict (:func:`components_of_event`, what the envelope
endpoint receives) reduce to the same :class:`Components`, so code reporting through
``sentry_sdk`` and through ``watchkeeper.capture_exception`` lands in the same groups.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Sequence
from types import CodeType, TracebackType
from typing import Any, NamedTuple

from .groups import Node, exception_tree, nodes_of_tree, select, tree_of_values

DEFAULT_MARK = "{{ default }}"
#: Top-level modules whose frames are never the app's (ours and the SDKs reporting).
LIBRARY_MODULES = frozenset({"watchkeeper", "sentry_sdk"})
_STDLIB = frozenset(sys.stdlib_module_names)
_SITE = re.compile(r"[\\/](?:dist|site)-packages[\\/]")
_STDLIB_PATH = re.compile(r"[\\/]lib[\\/]python\d+(?:\.\d+)?[\\/]")
_FROZEN = re.compile(r"^<frozen ")
#: Variable parts of a message, in the order they are replaced. Hex and decimal ids share
#: one placeholder: an all-digit hex id is indistinguishable from a number.
_VARIABLE = [
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<str>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                r"[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"\b0[xX][0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]+\b"), "<num>"),
    (re.compile(r"\d+"), "<num>"),
    (re.compile(r"<num>(?:[.,:]<num>)+"), "<num>"),
]
_QUOTED = re.compile(r"""^(['"])(.*)\1$""", re.DOTALL)
MESSAGE_LIMIT = 512


class Components(NamedTuple):
    """What a fingerprint is made of, oldest exception of a chain first."""

    types: tuple[str, ...]
    frames: tuple[str, ...]  # "module.function" of in-app frames, all exceptions in order
    messages: tuple[str, ...]  # normalized, used only when ``frames`` is empty
    library_frames: int  # frames left out (for the explanation)
    user: tuple[str, ...] | None = None  # a user fingerprint, as given
    #: For an exception group: (top-level exceptions, distinct ones among them).
    group: tuple[int, int] | None = None


def normalize_message(message: str) -> str:
    """``"user 42 not found in 'eu-1'"`` -> ``"user <num> not found in <str>"``."""
    text = message[:MESSAGE_LIMIT]
    whole = _QUOTED.match(text)  # KeyError's str() quotes its whole message
    if whole:
        text = whole.group(2)
    for pattern, repl in _VARIABLE:
        text = pattern.sub(repl, text)
    return " ".join(text.split())


def is_library(module: str | None, abs_path: str | None, in_app: bool | None = None) -> bool:
    """A frame of an installed package or the standard library (not the app's own code).

    An explicit ``in_app`` from an SDK wins when it says False; otherwise site-packages,
    the stdlib (by module or path) and the reporting libraries are library frames.
    """
    if in_app is False:
        return True
    if module:
        top = module.partition(".")[0]
        if top in _STDLIB or top in LIBRARY_MODULES:
            return True
    if abs_path:
        if _SITE.search(abs_path) or _FROZEN.match(abs_path):
            return True
        if in_app is not True and _STDLIB_PATH.search(abs_path):
            return True
    return False


def type_name(cls: type) -> str:
    """``module.QualName`` as Sentry reports it; builtins without a module."""
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None) or cls.__name__
    return name if module in (None, "builtins", "__builtins__") else f"{module}.{name}"


def _join_type(module: str | None, name: str | None) -> str:
    name = name or "Error"
    return name if module in (None, "", "builtins", "__builtins__") else f"{module}.{name}"


# -- live exceptions ---------------------------------------------------------------------

# keyed by id(code): hashing a code object hashes its bytecode and constants every time;
# the entry keeps the code alive and is checked by identity, so a reused id cannot match
_code_cache: dict[int, tuple[CodeType, str | None]] = {}
_CODE_CACHE_MAX = 20_000


def _frame_key(code: CodeType, f_globals: dict[str, Any]) -> str | None:
    """``module.function`` of an in-app frame, None for a library one (cached per code)."""
    entry = _code_cache.get(id(code))
    if entry is not None and entry[0] is code:
        return entry[1]
    module = f_globals.get("__name__")
    module = module if isinstance(module, str) else None
    key = None if is_library(module, code.co_filename) else f"{module}.{code.co_name}"
    if len(_code_cache) >= _CODE_CACHE_MAX:
        _code_cache.clear()
    _code_cache[id(code)] = (code, key)
    return key


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts, oldest first, as Sentry orders them."""
    out: list[BaseException] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen and len(out) < 16:
        seen.add(id(cur))
        out.append(cur)
        if cur.__cause__ is not None:
            cur = cur.__cause__
        elif cur.__context__ is not None and not cur.__suppress_context__:
            cur = cur.__context__
        else:
            cur = None
    out.reverse()
    return out


def _tb_frames(tb: TracebackType | None, frames: list[str]) -> int:
    skipped = 0
    last = None
    while tb is not None:
        frame = tb.tb_frame
        key = _frame_key(frame.f_code, frame.f_globals)
        if key is None:
            skipped += 1
        elif key != last:  # recursion: one frame per run of the same function
            frames.append(key)
            last = key
        tb = tb.tb_next
    return skipped


def components_of_exception(exc: BaseException,
                            fingerprint: Sequence[str] | None = None) -> Components:
    """Components of a live exception (no locals, no source: a few microseconds)."""
    if isinstance(exc, BaseExceptionGroup):
        return _of_group(nodes_of_tree(exception_tree(exc), _live_node), fingerprint)
    excs = chain(exc)
    frames: list[str] = []
    skipped = 0
    for e in excs:
        skipped += _tb_frames(e.__traceback__, frames)
    messages: tuple[str, ...] = ()
    if not frames:
        messages = tuple(normalize_message(_safe_str(e)) for e in excs)
    return Components(tuple(type_name(type(e)) for e in excs), tuple(frames), messages,
                      skipped, tuple(fingerprint) if fingerprint else None)


def _live_node(exc: BaseException) -> Node:
    frames: list[str] = []
    skipped = _tb_frames(exc.__traceback__, frames)
    return Node(type_name(type(exc)), tuple(frames), skipped,
                "" if frames else normalize_message(_safe_str(exc)),
                isinstance(exc, BaseExceptionGroup))


def _of_group(root: Node, fingerprint: Sequence[str] | None) -> Components:
    """Components of an exception group, from its tree (see ``groups``)."""
    chosen, tops, distinct = select(root)
    frames = tuple(f for node in chosen for f in node.frames)
    return Components(tuple(n.type for n in chosen), frames,
                      () if frames else tuple(n.message for n in chosen),
                      sum(n.skipped for n in chosen),
                      tuple(fingerprint) if fingerprint else None, (tops, distinct))


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return ""


# -- Sentry-shaped events ----------------------------------------------------------------

def components_of_event(event: dict[str, Any]) -> Components:
    """Components of an event dict (Sentry's shape: ``exception.values[].stacktrace``)."""
    values = _exception_values(event)
    user = event.get("fingerprint")
    user_fp = tuple(str(p) for p in user) if isinstance(user, list) and user else None
    if user_fp == (DEFAULT_MARK,):
        user_fp = None
    tree = tree_of_values(values)
    if tree is not None:
        return _of_group(nodes_of_tree(tree, _event_node), user_fp)
    types: list[str] = []
    frames: list[str] = []
    messages: list[str] = []
    skipped = 0
    for value in values:
        types.append(_join_type(_str(value.get("module")), _str(value.get("type"))))
        messages.append(normalize_message(_str(value.get("value")) or ""))
        skipped += _value_frames(value, frames)
    if not values:  # a message event (capture_message, a log record)
        logentry = event.get("logentry") or {}
        text = (_str(logentry.get("message")) if isinstance(logentry, dict) else None) \
            or _str(event.get("message")) or ""
        messages.append(normalize_message(text))
        types.append(_str(event.get("logger")) or "message")
    return Components(tuple(types), tuple(frames), () if frames else tuple(messages),
                      skipped, user_fp)


def _value_frames(value: dict[str, Any], frames: list[str]) -> int:
    """Append the in-app ``module.function`` keys of one exception value; library frames
    are counted and returned."""
    stack = value.get("stacktrace")
    raw = stack.get("frames") if isinstance(stack, dict) else None
    skipped = 0
    last = None
    for frame in raw if isinstance(raw, list) else ():
        if not isinstance(frame, dict):
            continue
        module = _str(frame.get("module"))
        in_app = frame.get("in_app") if isinstance(frame.get("in_app"), bool) else None
        if is_library(module, _str(frame.get("abs_path")) or _str(frame.get("filename")),
                      in_app):
            skipped += 1
            continue
        key = f"{module}.{_str(frame.get('function')) or '<unknown>'}"
        if key != last:
            frames.append(key)
            last = key
    return skipped


def _event_node(value: dict[str, Any]) -> Node:
    frames: list[str] = []
    skipped = _value_frames(value, frames)
    mechanism = value.get("mechanism")
    return Node(_join_type(_str(value.get("module")), _str(value.get("type"))), tuple(frames),
                skipped, "" if frames else normalize_message(_str(value.get("value")) or ""),
                isinstance(mechanism, dict) and mechanism.get("is_exception_group") is True)


def _exception_values(event: dict[str, Any]) -> list[dict[str, Any]]:
    exc = event.get("exception")
    if isinstance(exc, dict):
        values = exc.get("values")
    elif isinstance(exc, list):
        values = exc
    else:
        values = None
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# -- the fingerprint and its explanation -------------------------------------------------

_id_cache: dict[Components, str] = {}


def group_id(components: Components) -> str:
    """A stable 16-hex-digit id of the group (same across processes and restarts)."""
    try:
        return _id_cache[components]
    except KeyError:
        pass
    parts = _default_parts(components)
    if components.user is not None:
        user: list[str] = []
        for part in components.user:
            user.extend(parts if part == DEFAULT_MARK else [f"user:{part}"])
        parts = user
    digest = hashlib.sha1("\n".join(parts).encode("utf-8", "replace")).hexdigest()[:16]
    if len(_id_cache) >= _CODE_CACHE_MAX:
        _id_cache.clear()
    _id_cache[components] = digest
    return digest


def _default_parts(c: Components) -> list[str]:
    parts = [f"type:{t}" for t in c.types]
    if c.frames:
        parts.extend(f"frame:{f}" for f in c.frames)
    else:
        parts.extend(f"message:{m}" for m in c.messages)
    return parts


def explain(components: Components) -> dict[str, Any]:
    """Why events land in this group: what was compared and what was left out."""
    chain_text = " <- ".join(reversed(components.types))
    if components.frames:
        basis = "in_app_frames"
        text = (f"exception type chain {chain_text} and {len(components.frames)} in-app "
                f"frame(s) (module and function); line numbers, messages and "
                f"{components.library_frames} library frame(s) ignored")
    else:
        basis = "message"
        text = (f"exception type chain {chain_text} and the message with numbers, UUIDs, "
                f"hex and quoted strings stripped (no in-app frame: "
                f"{components.library_frames} library frame(s) ignored)")
    if components.group is not None:
        tops, distinct = components.group
        text = (f"the {distinct} distinct error(s) among the exception group's {tops} "
                f"sub-exception(s) (as Sentry does: copies count once"
                + (", the group itself is left out" if distinct == 1 else
                   ", the outer group is kept") + f"), by {text}")
    if components.user is not None:
        has_default = DEFAULT_MARK in components.user
        text = (f"user fingerprint {list(components.user)}"
                + (f" extending the default: {text}" if has_default else
                   " (replaces the default grouping)"))
        basis = "user_fingerprint"
    return {"basis": basis, "text": "Grouped by " + text, "types": list(components.types),
            "frames": list(components.frames), "messages": list(components.messages),
            "library_frames_ignored": components.library_frames,
            "user_fingerprint": list(components.user) if components.user else None,
            "exception_group": (None if components.group is None else
                                {"sub_exceptions": components.group[0],
                                 "distinct": components.group[1]})}
