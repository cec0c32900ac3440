"""Send captured events to a ``watchkeeper serve`` (or any Sentry-compatible endpoint).

    watchkeeper.integrations.errors.send_to("http://127.0.0.1:9090", token=...)

Events go as Sentry envelopes to ``/api/{project}/envelope/`` from the capture's drain
thread (stdlib ``urllib``, 5 s timeout), never from the request that raised.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from .capture import CAPTURE

log = logging.getLogger("watchkeeper.errors")


def envelope(event: dict[str, Any]) -> bytes:
    """One event as a Sentry envelope (header line, item header line, payload)."""
    payload = json.dumps(event, default=str).encode()
    header = {"event_id": event.get("event_id"),
              "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    item = {"type": "event", "length": len(payload), "content_type": "application/json"}
    return b"\n".join([json.dumps(header).encode(), json.dumps(item).encode(), payload])


class EnvelopeSender:
    """A capture sink posting each event to ``url``'s envelope endpoint."""

    def __init__(self, url: str, *, token: str | None = None, project: str = "1",
                 timeout: float = 5.0) -> None:
        self.endpoint = f"{url.rstrip('/')}/api/{project}/envelope/"
        self.token = token
        self.timeout = timeout
        self.failed = 0

    def __call__(self, events: list[dict[str, Any]]) -> None:
        import urllib.request  # only in a process that sends (http.client, ssl: not cheap)

        for n, event in enumerate(events):
            headers = {"Content-Type": "application/x-sentry-envelope"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
                headers["X-Sentry-Auth"] = f"Sentry sentry_version=7, sentry_key={self.token}"
            request = urllib.request.Request(self.endpoint, data=envelope(event),
                                             headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
            except OSError as e:  # the rest of the batch would wait as long: drop it
                self.failed += len(events) - n
                log.warning("could not send %d error event(s) to %s: %s",
                            len(events) - n, self.endpoint, e)
                return


def send_to(url: str, *, token: str | None = None, project: str = "1") -> EnvelopeSender:
    """Send every captured exception to the server at ``url`` (from now on)."""
    sender = EnvelopeSender(url, token=token, project=project)
    CAPTURE.add_sink(sender)
    return sender
