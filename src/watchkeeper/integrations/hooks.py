"""What the web middlewares call when a request raises: the error tracker plugs in here.

    from watchkeeper.integrations.hooks import EXCEPTION_HOOKS
    EXCEPTION_HOOKS.append(lambda exc, work: ...)

Each hook gets the unhandled exception and the :class:`~.context.Work` of the request (its
``name`` is the route template). Hooks run only on the error path, so a request that raises
nothing pays nothing; a failing hook is logged and never replaces the request's exception.

The error tracker (``watchkeeper.integrations.errors``) is loaded on the first unhandled
exception, so middlewares capture errors out of the box; ``AUTO_CAPTURE = False`` before
that first error keeps it out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .context import Work

ExceptionHook = Callable[[BaseException, "Work | None"], None]

#: Load the error tracker on the first unhandled exception (it registers its own hook).
AUTO_CAPTURE = True


def _load_tracker(exc: BaseException, work: Work | None) -> None:
    """The first hook: loads the error tracker, hands it this exception, and steps aside."""
    remove_exception_hook(_load_tracker)
    if AUTO_CAPTURE:
        from .errors.capture import on_unhandled  # registers itself for what follows

        on_unhandled(exc, work)


#: Called with ``(exc, work)`` by every web middleware on an unhandled exception.
EXCEPTION_HOOKS: list[ExceptionHook] = [_load_tracker]

log = logging.getLogger("watchkeeper.integrations")


def add_exception_hook(hook: ExceptionHook) -> None:
    """Register ``hook`` once (adding it again is a no-op)."""
    if hook not in EXCEPTION_HOOKS:
        EXCEPTION_HOOKS.append(hook)


def remove_exception_hook(hook: ExceptionHook) -> None:
    if hook in EXCEPTION_HOOKS:
        EXCEPTION_HOOKS.remove(hook)


def run_exception_hooks(exc: BaseException, work: Work | None) -> None:
    for hook in tuple(EXCEPTION_HOOKS):
        try:
            hook(exc, work)
        except Exception:  # a broken tracker must not hide the request's own error
            log.exception("exception hook %r failed", hook)
