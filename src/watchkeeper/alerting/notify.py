"""Notifications when nobody configured a receiver: one environment variable, and a hint.

Why an environment variable: the first start has no config file, and
``WATCHKEEPER_NOTIFY=ntfy://my-topic watchkeeper serve`` (any Apprise URL: a desktop
notification, a chat, mail) is all it takes to hear about every alert. Without it, and
without receivers, firing alerts are still on the dashboard, at ``/api/v1/alerts`` and in
``watchkeeper alerts``, and ``GET /api/v1/notifications`` says so (for the dashboard's
banner).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route as WebRoute

from watchkeeper.alerting.routing import Route, build_route

NOTIFY_ENV = "WATCHKEEPER_NOTIFY"
NOTIFY_RECEIVER = "watchkeeper-notify"
RECEIVER_HINT = (
    "no alert receiver is configured: firing alerts show on the dashboard, at "
    "/api/v1/alerts and in `watchkeeper alerts`. To be notified, set "
    f"{NOTIFY_ENV} to an Apprise URL (e.g. {NOTIFY_ENV}=ntfy://my-topic, or dbus:// for a "
    "desktop notification) or add alerting.receivers (webhook_configs, email_configs, "
    "apprise_configs) and a route to the config")


def notify_receiver(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The Apprise receiver ``WATCHKEEPER_NOTIFY`` asks for (several URLs: comma or space
    separated), or None."""
    text = (environ if environ is not None else os.environ).get(NOTIFY_ENV, "")
    urls = [u for u in text.replace(",", " ").split() if u]
    if not urls:
        return None
    return {"name": NOTIFY_RECEIVER, "apprise_configs": [{"urls": urls}]}


def notify_route() -> Route:
    """Every alert, one notification per alert name, as a small team would want."""
    return build_route({"receiver": NOTIFY_RECEIVER, "group_by": ["alertname"],
                        "group_wait": "10s", "group_interval": "1m", "repeat_interval": "4h"},
                       path="{}/notify")


def notification_status(service: Any) -> dict[str, Any]:
    """Who gets notified, and how it goes: what a banner needs to say "nobody"."""
    delivery = service.delivery
    queued = delivery.queued()
    integrations = [{"id": i.id, "receiver": i.id.split("/", 1)[0], "kind": i.kind,
                     "sent": delivery.sent.get(i.id, 0), "failed": delivery.failed.get(i.id, 0),
                     "dropped": delivery.dropped.get(i.id, 0), "queued": queued.get(i.id, 0)}
                    for i in delivery.integrations.values()]
    receivers = list(service.receiver_names)
    notify = any(i["receiver"] == NOTIFY_RECEIVER for i in integrations)
    firing = sum(1 for a in service.active_alerts() if a["state"] == "firing")
    return {"receivers": receivers, "notifyEnv": notify,
            "configured": bool(receivers) or notify, "integrations": integrations,
            "firing": firing, "hint": "" if receivers or notify else RECEIVER_HINT}


def notification_routes(service: Any) -> list[WebRoute]:
    async def status(request: Request) -> JSONResponse:
        return JSONResponse({"status": "success", "data": notification_status(service)})

    return [WebRoute("/api/v1/notifications", status, methods=["GET"])]
