"""NATS: connect and measure a PING/PONG round trip (async, on the runner's loop)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from ..check import Check
from ..model import CheckError, Outcome, Status
from . import import_driver, redact_url
from .net import connect_error


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 4222


class NATSCheck(Check):
    type = "nats"

    def __init__(
        self,
        *,
        url: str = "nats://127.0.0.1:4222",
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        **common: Any,
    ) -> None:
        common.setdefault("name", "nats")
        super().__init__(**common)
        self.url, self.user, self.password, self.token = url, user, password, token

    async def check(self) -> Outcome:
        nats = import_driver("nats", "nats")
        errors: list[BaseException] = []

        async def on_error(error: BaseException) -> None:
            errors.append(error)

        auth = {k: v for k, v in
                (("user", self.user), ("password", self.password), ("token", self.token))
                if v is not None}
        try:
            conn = await nats.connect(
                # one quick retry then give up: nats-py retries forever with 0 attempts
                servers=[self.url], connect_timeout=self.timeout, allow_reconnect=False,
                max_reconnect_attempts=1, reconnect_time_wait=0, error_cb=on_error, **auth,
            )
        except Exception as e:
            cause = errors[0] if errors else e
            if isinstance(cause, OSError):
                raise connect_error(*_host_port(self.url), cause) from None
            raise CheckError(f"cannot connect to NATS {redact_url(self.url)}: "
                             f"{str(cause) or type(cause).__name__}") from None
        try:
            t0 = time.perf_counter()
            await conn.flush(timeout=self.timeout)
            rtt = time.perf_counter() - t0
            version = str(conn.connected_server_version).strip("<>")
        except Exception as e:
            raise CheckError(f"NATS {redact_url(self.url)} did not answer PING: {e}") from None
        finally:
            await conn.close()
        return Outcome(Status.HEALTHY, f"{version} round trip {rtt * 1000:.1f} ms",
                       observed_value=round(rtt * 1000, 3), observed_unit="ms",
                       measurement="roundTrip", component_type="component")
