"""Forward alerts to a real Alertmanager through its ``POST /api/v2/alerts``.

Alertmanager does its own grouping, so every alert of the notification is posted with
its start and end; a resolved alert carries an end in the past.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from watchkeeper.alerting.receivers.base import DeliveryError, Integration


class AlertmanagerIntegration(Integration):
    kind = "alertmanager"

    def __init__(self, integration_id: str, config: Mapping[str, Any]) -> None:
        super().__init__(integration_id, config)
        if not self.config.get("url"):
            raise ValueError(f"{integration_id}: alertmanager needs a url")
        self.url = str(self.config["url"]).rstrip("/") + "/api/v2/alerts"

    def send(self, payload: Mapping[str, Any]) -> None:
        alerts = []
        for a in payload["alerts"]:
            item = {"labels": a["labels"], "annotations": a["annotations"],
                    "startsAt": a["startsAt"], "generatorURL": a.get("generatorURL", "")}
            if a.get("endsAt") and not a["endsAt"].startswith("0001-"):
                item["endsAt"] = a["endsAt"]
            alerts.append(item)
        try:
            response = httpx.post(self.url, json=alerts, timeout=self.timeout)
        except httpx.HTTPError as e:
            raise DeliveryError(f"alertmanager {self.url}: {e}") from None
        if response.status_code >= 400:
            raise DeliveryError(f"alertmanager {self.url}: HTTP {response.status_code} "
                                f"{response.text[:200]}", retry=response.status_code >= 500)
