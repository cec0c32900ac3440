"""Webhook: POST Alertmanager's webhook JSON (version 4) to a URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from watchkeeper.alerting.receivers.base import DeliveryError, Integration

_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


class WebhookIntegration(Integration):
    kind = "webhook"

    def __init__(self, integration_id: str, config: Mapping[str, Any]) -> None:
        super().__init__(integration_id, config)
        if not self.config.get("url"):
            raise ValueError(f"{integration_id}: webhook needs a url")
        self.url = str(self.config["url"])
        self.max_alerts = int(self.config.get("max_alerts", 0))

    def send(self, payload: Mapping[str, Any]) -> None:
        body = dict(payload)
        if self.max_alerts and len(body["alerts"]) > self.max_alerts:
            body["truncatedAlerts"] = len(body["alerts"]) - self.max_alerts
            body["alerts"] = body["alerts"][: self.max_alerts]
        headers = {}
        if body.get("idempotencyKey"):  # receivers drop a repeat sent after a crash by it
            headers["Idempotency-Key"] = quote(str(body["idempotencyKey"]), safe=_HEADER_SAFE)
        try:
            response = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as e:
            raise DeliveryError(f"webhook {self.url}: {e}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise DeliveryError(f"webhook {self.url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise DeliveryError(f"webhook {self.url}: HTTP {response.status_code}", retry=False)
