"""Exception groups (``ExceptionGroup``, ``TaskGroup``, trio nurseries) grouped as Sentry does.

A group is an exception caused by several unrelated ones, so grouping by the group itself
would put every ``ExceptionGroup("unhandled errors in a TaskGroup", ...)`` in one issue.
Sentry's rule (its RFC 79 and its grouping code) looks through the group instead:

- the *top-level exceptions* are the group's members, descending into nested groups;
- when they are all one error (same type and in-app frames), the group is that error and
  its cause chain: ``Group[Da, Da, Da]``, ``Group[Da]`` and ``Group[Group[Da]]`` are one
  group, however many copies;
- otherwise the group is one of each distinct error plus the outer group itself, in an
  order that does not depend on the members' order.

Both a live exception and a Sentry-shaped event reduce to the same tree of
:class:`Node`: events carry it as ``mechanism.exception_id`` / ``parent_id`` / ``source``
(the sentry-sdk layout, which :func:`exception_tree` reproduces for our own events). A
cause or context always follows its exception in that layout's pre-order, which places it
even where an SDK wrote ``parent_id`` 0 for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Members read per group, and nodes per tree: a group of 10,000 failures stays cheap.
MAX_MEMBERS = 50
MAX_NODES = 200


class Node:
    """One exception of a tree: what grouping compares, and its place in the tree."""

    __slots__ = ("cause", "frames", "is_group", "members", "message", "skipped", "type")

    def __init__(self, type_: str, frames: tuple[str, ...], skipped: int, message: str,
                 is_group: bool) -> None:
        self.type = type_
        self.frames = frames
        self.skipped = skipped
        self.message = message
        self.is_group = is_group
        self.cause: Node | None = None
        self.members: list[Node] = []

    def key(self) -> tuple[str, ...]:
        """What makes two exceptions "the same error": type and in-app frames, or the
        type and the normalized message when the stack shows no app code."""
        return (self.type, *self.frames) if self.frames else (self.type, "", self.message)


def _cause_of(exc: BaseException) -> tuple[BaseException | None, str]:
    if exc.__cause__ is not None:
        return exc.__cause__, "__cause__"
    if exc.__context__ is not None and not exc.__suppress_context__:
        return exc.__context__, "__context__"
    return None, ""


def exception_tree(exc: BaseException) -> list[tuple[BaseException, int, str]]:
    """The tree under ``exc`` in pre-order as ``(exception, parent index, source)``:
    a cause or context right after its exception, then the members (``exceptions[i]``).
    The root's parent is -1; an exception met twice is kept once."""
    out: list[tuple[BaseException, int, str]] = []
    seen: set[int] = set()

    def walk(e: BaseException, parent: int, source: str, depth: int) -> None:
        if id(e) in seen or len(out) >= MAX_NODES or depth > 64:
            return
        seen.add(id(e))
        index = len(out)
        out.append((e, parent, source))
        cause, how = _cause_of(e)
        if cause is not None:
            walk(cause, index, how, depth + 1)
        if isinstance(e, BaseExceptionGroup):
            for i, member in enumerate(e.exceptions[:MAX_MEMBERS]):
                walk(member, index, f"exceptions[{i}]", depth + 1)

    walk(exc, -1, "", 0)
    return out


def nodes_of_tree(entries: list[tuple[Any, int, str]],
                  node_of: Callable[[Any], Node]) -> Node:
    """Link pre-order ``(item, parent index, source)`` entries into nodes; the root."""
    nodes = [node_of(item) for item, _, _ in entries]
    for node, (_, parent, source) in zip(nodes, entries, strict=True):
        if parent < 0:
            continue
        if source.startswith("exceptions["):
            if len(nodes[parent].members) < MAX_MEMBERS:
                nodes[parent].members.append(node)
        elif nodes[parent].cause is None:
            nodes[parent].cause = node
    return nodes[0]


def tree_of_values(values: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int, str]] | None:
    """The pre-order entries of an event's ``exception.values`` (oldest first, as sent) when
    they describe an exception group; None for a plain chain."""
    if not values:
        return None
    ordered = list(reversed(values))  # the SDK's pre-order
    mechanisms = [v.get("mechanism") for v in ordered]
    if not all(isinstance(m, dict) and type(m.get("exception_id")) is int
               for m in mechanisms):
        return None
    if not mechanisms[0].get("is_exception_group"):  # type: ignore[union-attr]
        return None
    index_of = {m["exception_id"]: i for i, m in enumerate(mechanisms)}  # type: ignore[index]
    entries: list[tuple[dict[str, Any], int, str]] = []
    for i, (value, mechanism) in enumerate(zip(ordered, mechanisms, strict=True)):
        source = mechanism.get("source")  # type: ignore[union-attr]
        source = source if isinstance(source, str) else ""
        if i == 0:
            entries.append((value, -1, ""))
        elif source in ("__cause__", "__context__"):
            entries.append((value, i - 1, source))  # pre-order: right after its exception
        else:
            parent = index_of.get(mechanism.get("parent_id"), 0)  # type: ignore[union-attr]
            entries.append((value, parent if parent < i else 0, source or "exceptions[0]"))
        if len(entries) >= MAX_NODES:
            break
    return entries


def _top_level(node: Node, out: list[Node], depth: int = 0) -> None:
    for member in node.members:
        if member.is_group and depth < 64:
            _top_level(member, out, depth + 1)
        else:
            out.append(member)


def select(root: Node) -> tuple[list[Node], int, int]:
    """The nodes a group's fingerprint is made of, oldest first, with the number of
    top-level exceptions and of distinct ones (for the explanation)."""
    tops: list[Node] = []
    _top_level(root, tops)
    distinct: dict[tuple[str, ...], Node] = {}
    for node in tops:
        distinct.setdefault(node.key(), node)
    if len(distinct) == 1:  # one error, however many times: that error and its causes
        main = next(iter(distinct.values()))
        path = [main]
        while path[-1].cause is not None and len(path) < 16:
            path.append(path[-1].cause)  # type: ignore[arg-type]
        path.reverse()
        return path, len(tops), 1
    chosen = [distinct[key] for key in sorted(distinct)]
    return [*chosen, root], len(tops), len(distinct)
