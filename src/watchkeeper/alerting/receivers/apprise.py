"""Apprise URLs (Slack, Discord, Telegram, Teams, mailto:// and 100+ more).

Apprise is an optional extra (``pip install 'watchkeeper[alerting]'``), imported when a
notification is first sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from watchkeeper.alerting.receivers.base import DeliveryError, Integration
from watchkeeper.alerting.receivers.smtp import render_email


class AppriseIntegration(Integration):
    kind = "apprise"

    def __init__(self, integration_id: str, config: Mapping[str, Any]) -> None:
        super().__init__(integration_id, config)
        urls = self.config.get("urls") or ([self.config["url"]] if self.config.get("url") else [])
        if not urls:
            raise ValueError(f"{integration_id}: apprise needs urls")
        self.urls = [str(u) for u in urls]

    def send(self, payload: Mapping[str, Any]) -> None:
        try:
            import apprise
        except ImportError:
            raise DeliveryError("apprise is not installed: pip install 'watchkeeper[alerting]'",
                                retry=False) from None
        notifier = apprise.Apprise()
        for url in self.urls:
            if not notifier.add(url):
                raise DeliveryError(f"apprise cannot use URL {url.split(':', 1)[0]}://...",
                                    retry=False)
        title, body = render_email(payload)
        kind = apprise.NotifyType.FAILURE if payload["status"] == "firing" \
            else apprise.NotifyType.SUCCESS
        if not notifier.notify(body=body, title=title, notify_type=kind):
            raise DeliveryError("apprise: at least one service did not accept the notification")
