"""Forward alerts to a real Alertmanager through its ``POST /api/v2/alerts``.

Alertmanager does its own grouping, so every alert of the notification is posted with
its start and end; a resolved alert carries an end in the past. As Prometheus's notifier,
the external labels are added first (an alert's own labels win), then
``alert_relabel_configs`` run; an alert they drop is not sent.
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
        self.external_labels = {str(k): str(v) for k, v in
                                (self.config.get("external_labels") or {}).items()}
        self.relabel = _relabel_configs(integration_id,
                                        self.config.get("alert_relabel_configs") or [])

    def labels(self, labels: Mapping[str, str]) -> dict[str, str] | None:
        """An alert's labels as sent: external labels under them, then relabeled."""
        out = {**self.external_labels, **labels}
        if not self.relabel:
            return out
        from watchkeeper.scrape.relabel import relabel

        return relabel(out, self.relabel)

    def send(self, payload: Mapping[str, Any]) -> None:
        alerts = []
        for a in payload["alerts"]:
            labels = self.labels(a["labels"])
            if not labels:
                continue
            item = {"labels": labels, "annotations": a["annotations"],
                    "startsAt": a["startsAt"], "generatorURL": a.get("generatorURL", "")}
            if a.get("endsAt") and not a["endsAt"].startswith("0001-"):
                item["endsAt"] = a["endsAt"]
            alerts.append(item)
        if not alerts:
            return
        try:
            response = httpx.post(self.url, json=alerts, timeout=self.timeout)
        except httpx.HTTPError as e:
            raise DeliveryError(f"alertmanager {self.url}: {e}") from None
        if response.status_code >= 400:
            raise DeliveryError(f"alertmanager {self.url}: HTTP {response.status_code} "
                                f"{response.text[:200]}", retry=response.status_code >= 500)


def _relabel_configs(integration_id: str, configs: list[Any]) -> list[Any]:
    from pydantic import ValidationError

    from watchkeeper.config import RelabelConfig

    try:
        return [c if isinstance(c, RelabelConfig) else RelabelConfig(**c) for c in configs]
    except (ValidationError, TypeError) as e:
        first = e.errors()[0]["msg"] if isinstance(e, ValidationError) else str(e)
        raise ValueError(f"{integration_id}: alert_relabel_configs: {first}") from None
