"""Django cache backends that count hits, misses and operations like the other caches.

    CACHES = {"default": {
        "BACKEND": "watchkeeper.integrations.cache_django.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379",
        "WATCHKEEPER_NAME": "default",     # the cache label (default: "django")
    }}

``RedisCache`` is Django's built-in ``RedisCache`` with counting; ``counted(Backend)``
makes the same subclass of any other backend class. Importing this module imports Django,
which only a Django project does.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as _DjangoRedisCache

from .cache_stats import CACHES

_MISSING = object()


class CountingMixin:
    """Counts get/get_many (hits and misses by key prefix), set, delete and incr."""

    tier = "django"

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        params = dict(params)
        self._wk = CACHES.stats(params.pop("WATCHKEEPER_NAME", "django"))
        super().__init__(server, params)  # type: ignore[call-arg]

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        s = self._wk
        s.op(self.tier, "get")
        value = super().get(key, _MISSING, version)  # type: ignore[misc]
        hit = value is not _MISSING
        (s.hit if hit else s.miss)(self.tier)
        s.prefix(key, hit)
        return value if hit else default

    def get_many(self, keys: Any, version: Any = None) -> Any:
        s = self._wk
        s.op(self.tier, "mget")
        keys = list(keys)
        found = super().get_many(keys, version)  # type: ignore[misc]
        for key in keys:
            s.prefix(key, key in found)
        s.hit(self.tier, len(found))
        s.miss(self.tier, len(keys) - len(found))
        return found

    def set(self, *args: Any, **kwargs: Any) -> Any:
        self._wk.op(self.tier, "set")
        return super().set(*args, **kwargs)  # type: ignore[misc]

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        self._wk.op(self.tier, "delete")
        return super().delete(*args, **kwargs)  # type: ignore[misc]

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        self._wk.op(self.tier, "incr")
        return super().incr(*args, **kwargs)  # type: ignore[misc]


def counted(backend: type) -> type:
    """A counting subclass of a Django cache backend class."""
    return type(backend.__name__, (CountingMixin, backend), {"__module__": __name__})


RedisCache = counted(_DjangoRedisCache)
