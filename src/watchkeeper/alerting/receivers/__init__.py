"""Receivers: where a grouped notification goes (webhook, Apprise, SMTP, Alertmanager).

Each integration takes Alertmanager's webhook payload (version 4) and either delivers it
or raises DeliveryError; retries and persistence belong to the delivery queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from watchkeeper.alerting.receivers.base import DeliveryError, Integration


def build_integrations(config: Mapping[str, Any]) -> list[Integration]:
    """The integrations of one Alertmanager-shaped receiver entry."""
    from watchkeeper.alerting.receivers.alertmanager import AlertmanagerIntegration
    from watchkeeper.alerting.receivers.apprise import AppriseIntegration
    from watchkeeper.alerting.receivers.smtp import EmailIntegration
    from watchkeeper.alerting.receivers.webhook import WebhookIntegration

    kinds = {"webhook_configs": WebhookIntegration, "email_configs": EmailIntegration,
             "apprise_configs": AppriseIntegration,
             "alertmanager_configs": AlertmanagerIntegration}
    name = str(config.get("name", ""))
    out: list[Integration] = []
    for key, cls in kinds.items():
        for i, item in enumerate(config.get(key) or []):
            out.append(cls(f"{name}/{key.removesuffix('_configs')}/{i}", item))
    return out


__all__ = ["DeliveryError", "Integration", "build_integrations"]
