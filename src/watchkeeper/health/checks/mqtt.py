"""MQTT broker: a clean CONNECT answered by a successful CONNACK, then DISCONNECT."""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..check import Check
from ..model import CheckError, Outcome, Status
from . import import_driver
from .net import connect_error


class MQTTCheck(Check):
    type = "mqtt"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        **common: Any,
    ) -> None:
        common.setdefault("name", "mqtt")
        super().__init__(**common)
        self.host, self.port, self.tls = host, port, tls
        self.username, self.password = username, password

    def check(self) -> Outcome:
        mqtt = import_driver("paho.mqtt.client", "mqtt")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"watchkeeper-health-{uuid.uuid4().hex[:12]}")
        client.connect_timeout = self.timeout
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set()
        answers: list[Any] = []
        client.on_connect = lambda _c, _u, _f, reason, _p: answers.append(reason)
        t0 = time.perf_counter()
        try:
            client.connect(self.host, self.port, keepalive=max(5, int(self.timeout) + 1))
        except OSError as e:
            raise connect_error(self.host, self.port, e) from None
        try:
            deadline = time.monotonic() + self.timeout
            while not answers and time.monotonic() < deadline:
                client.loop(timeout=0.05)
        finally:
            client.disconnect()
        if not answers:
            raise CheckError(f"MQTT broker {self.host}:{self.port} sent no CONNACK "
                             f"within {self.timeout:g} s")
        reason = answers[0]
        if reason.is_failure:
            raise CheckError(f"MQTT broker {self.host}:{self.port} refused the connection: "
                             f"{reason}")
        latency = time.perf_counter() - t0
        return Outcome(Status.HEALTHY,
                       f"MQTT broker {self.host}:{self.port} accepted CONNECT "
                       f"in {latency * 1000:.1f} ms",
                       observed_value=round(latency * 1000, 3), observed_unit="ms",
                       measurement="connectTime", component_type="component")
