"""Redis: PING; memory used vs ``maxmemory`` when a limit is set."""

from __future__ import annotations

from typing import Any

from ..check import Check
from ..model import CheckError, Outcome, Status
from . import human_bytes, import_driver, ratio_status, redact_url


class RedisCheck(Check):
    type = "redis"

    def __init__(
        self,
        *,
        url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 6379,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        degraded_memory: float = 0.9,
        unhealthy_memory: float | None = 0.98,
        **common: Any,
    ) -> None:
        common.setdefault("name", "redis")
        super().__init__(**common)
        self.url = url
        self.params = {"host": host, "port": port, "db": db, "username": username,
                       "password": password}
        self.levels = (degraded_memory, unhealthy_memory)

    def check(self) -> Outcome:
        redis = import_driver("redis", "redis")
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        timeouts = {"socket_timeout": self.timeout, "socket_connect_timeout": self.timeout,
                    "retry": Retry(NoBackoff(), 0)}  # a health check reports, never retries
        client = (redis.Redis.from_url(self.url, **timeouts) if self.url
                  else redis.Redis(**self.params, **timeouts))
        where = (redact_url(self.url) if self.url
                 else f"{self.params['host']}:{self.params['port']}/{self.params['db']}")
        try:
            client.ping()
            info = client.info("memory")
            version = client.info("server").get("redis_version", "?")
        except redis.exceptions.AuthenticationError as e:
            raise CheckError(f"Redis {where} rejected the credentials: {e}") from None
        except redis.exceptions.RedisError as e:
            raise CheckError(f"Redis {where}: {' '.join(str(e).split())}") from None
        finally:
            client.close()
        used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
        if not limit:
            return Outcome(Status.HEALTHY,
                           f"Redis {version} PONG, {human_bytes(used)} used (no maxmemory)",
                           observed_value=used, observed_unit="bytes", measurement="memory",
                           component_type="datastore")
        ratio = used / limit
        return Outcome(Status(ratio_status(ratio, *self.levels)),
                       f"Redis {version} PONG, {human_bytes(used)} of {human_bytes(limit)} "
                       f"maxmemory ({ratio:.0%})",
                       observed_value=round(ratio * 100, 2), observed_unit="percent",
                       measurement="memory", component_type="datastore")
