"""Active users and sessions from ids the app already has, without keeping any id.

    from watchkeeper.integrations.activity import ActivityTracker, from_header
    app.add_middleware(HTTPMetricsMiddleware, user_id=from_header("x-user-id"))

``http_active_users{window="5m"|"1h"|"24h"}`` is a HyperLogLog estimate per window: each
window is 4 slots of a quarter of it, each slot 4,096 one-byte registers (16 KiB per window,
standard error 1.6 %), so the window slides in quarter steps and old users fall out. Ids
are hashed before they touch a register. Sessions are kept as keyed hashes (a random key per
process) with first and last sight, bounded in number: ``http_sessions_active`` counts those
seen within ``session_timeout`` and a session's duration is observed when it times out.

With ``by_route=True`` (opt-in: 48 KiB per route) each route template gets its own three
windows, ``http_active_users_by_route{http_route, window}``; the first ``max_routes``
routes are kept, later ones share ``_other``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from hashlib import blake2b
from time import monotonic
from typing import Any

from ..metrics import Histogram
from ..metrics.family import GaugeMetricFamily
from ..metrics.registry import REGISTRY, CollectorRegistry
from .errors.hll import HyperLogLog

P = 12
M = 1 << P
WINDOWS = (("5m", 300.0), ("1h", 3600.0), ("24h", 86400.0))
SLOTS = 4
IdOf = Callable[[Any], "str | None"]
OTHER_ROUTE = "_other"


def hash64(item: str) -> int:
    return int.from_bytes(blake2b(item.encode(), digest_size=8).digest(), "big")


class SlidingSketch:
    """Distinct ids seen in the last ``seconds`` (in quarter steps), in 16 KiB."""

    __slots__ = ("_epochs", "_slots", "span")

    def __init__(self, seconds: float) -> None:
        self.span = seconds / SLOTS
        self._slots = [bytearray(M) for _ in range(SLOTS)]
        self._epochs = [-SLOTS] * SLOTS

    def add_hash(self, h: int, now: float) -> None:
        epoch = int(now // self.span)
        i = epoch % SLOTS
        if self._epochs[i] != epoch:
            self._slots[i] = bytearray(M)
            self._epochs[i] = epoch
        index = h >> (64 - P)
        rank = (64 - P) - (h & ((1 << (64 - P)) - 1)).bit_length() + 1
        regs = self._slots[i]
        if rank > regs[index]:
            regs[index] = rank

    def count(self, now: float) -> int:
        epoch = int(now // self.span)
        live = [s for s, e in zip(self._slots, self._epochs, strict=True) if epoch - e < SLOTS]
        if not live:
            return 0
        merged = bytes(map(max, *live)) if len(live) > 1 else bytes(live[0])
        return HyperLogLog(P, merged).count()

    def nbytes(self) -> int:
        return sum(len(s) for s in self._slots)


def from_header(name: str) -> IdOf:
    """The id from a request header (ASGI scope, WSGI environ or Django request)."""
    raw = name.lower().encode("latin-1")
    meta = "HTTP_" + name.upper().replace("-", "_")

    def read(obj: Any) -> str | None:
        if isinstance(obj, dict) and "headers" in obj:
            for key, value in obj["headers"]:
                if key == raw:
                    return value.decode("latin-1")
            return None
        environ = obj if isinstance(obj, dict) else getattr(obj, "META", {})
        return environ.get(meta)
    return read


def from_cookie(name: str) -> IdOf:
    """The id from a cookie (ASGI scope, WSGI environ or Django request)."""
    from http.cookies import SimpleCookie

    header = from_header("cookie")

    def read(obj: Any) -> str | None:
        raw = header(obj)
        if not raw:
            return None
        morsel = SimpleCookie(raw).get(name)
        return morsel.value if morsel is not None else None
    return read


def from_django_user(request: Any) -> str | None:
    """``request.user.pk`` of an authenticated Django user."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


class ActivityTracker:
    """Feeds the sketches from each request; registered as a collector on ``registry``."""

    def __init__(self, user_id: IdOf | None = None, session_id: IdOf | None = None, *,
                 registry: CollectorRegistry | None = REGISTRY,
                 session_timeout: float = 1800.0, max_sessions: int = 100_000,
                 clock: Callable[[], float] = monotonic, by_route: bool = False,
                 max_routes: int = 50) -> None:
        self.user_id = user_id
        self.by_route = by_route
        self.max_routes = max_routes
        self._routes: dict[str, list[SlidingSketch]] = {}
        self.session_id = session_id
        self.clock = clock
        self.windows = [(name, SlidingSketch(seconds)) for name, seconds in WINDOWS]
        self.session_timeout = session_timeout
        self.max_sessions = max_sessions
        self._sessions: dict[bytes, list[float]] = {}
        self._key = os.urandom(16)
        self._lock = threading.Lock()
        self.session_duration = Histogram(
            "http_session_duration_seconds", "Length of sessions that timed out.",
            buckets=(60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400), registry=registry)
        if registry is not None:
            registry.register(self)

    def see(self, obj: Any) -> int | None:
        """Count the user and session of one request (scope, environ or request); the
        user's hash, for :meth:`see_route` once the route is known."""
        now = self.clock()
        h = None
        if self.user_id is not None:
            uid = self.user_id(obj)
            if uid:
                h = self.see_user(uid, now)
        if self.session_id is not None:
            sid = self.session_id(obj)
            if sid:
                self.see_session(sid, now)
        return h

    see_environ = see_request = see

    def see_user(self, uid: str, now: float | None = None) -> int:
        now = self.clock() if now is None else now
        h = hash64(uid)
        for _, sketch in self.windows:
            sketch.add_hash(h, now)
        return h

    def see_route(self, route: str, user_hash: int | None, now: float | None = None) -> None:
        """Count a user (its hash from :meth:`see`) on one route; a no-op unless
        ``by_route``."""
        if not self.by_route or user_hash is None:
            return
        sketches = self._routes.get(route)
        if sketches is None:
            with self._lock:
                if route not in self._routes and len(self._routes) >= self.max_routes:
                    route = OTHER_ROUTE
                sketches = self._routes.get(route)
                if sketches is None:
                    sketches = self._routes[route] = [SlidingSketch(seconds)
                                                      for _, seconds in WINDOWS]
        now = self.clock() if now is None else now
        for sketch in sketches:
            sketch.add_hash(user_hash, now)

    def see_session(self, sid: str, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        key = blake2b(sid.encode(), digest_size=16, key=self._key).digest()
        entry = self._sessions.get(key)
        if entry is not None:
            entry[1] = now
        elif len(self._sessions) < self.max_sessions:
            self._sessions[key] = [now, now]

    def sweep(self, now: float | None = None) -> int:
        """End timed-out sessions (observing their duration); returns the active count."""
        now = self.clock() if now is None else now
        cutoff = now - self.session_timeout
        with self._lock:
            ended = [k for k, (_, last) in list(self._sessions.items()) if last < cutoff]
            for key in ended:
                first, last = self._sessions.pop(key)
                self.session_duration.observe(last - first)
            return len(self._sessions)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock()
        users = GaugeMetricFamily("http_active_users",
                                  "Distinct users seen in the window (HyperLogLog estimate).",
                                  labels=["window"])
        for name, sketch in self.windows:
            users.add_metric([name], sketch.count(now))
        yield users
        if self.by_route:
            by_route = GaugeMetricFamily(
                "http_active_users_by_route",
                "Distinct users seen on each route in the window (HyperLogLog estimate).",
                labels=["http_route", "window"])
            for route, sketches in sorted(self._routes.items()):
                for (name, _), sketch in zip(WINDOWS, sketches, strict=True):
                    by_route.add_metric([route, name], sketch.count(now))
            yield by_route
        if self.session_id is not None:
            yield GaugeMetricFamily("http_sessions_active",
                                    "Sessions seen within the session timeout.",
                                    value=self.sweep(now))
