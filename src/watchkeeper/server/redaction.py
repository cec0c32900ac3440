"""No configured secret leaves in a response: the last line of defence behind the redacted
config dump and the log filter, for any route that echoes a receiver's error, a check's
detail or a URL (alert delivery status, health details, the dashboard, anything new).

Only the running config's secret values are replaced (never text that merely looks like a
URL). Query results are data, and the biggest answers: the data routes below pass untouched,
as do compressed bodies (the server compresses only its dashboard assets and panel data).
"""

from __future__ import annotations

from typing import Any

from watchkeeper.config.secrets import Redactor

DATA_PATHS = ("/metrics", "/federate", "/api/v1/query", "/api/v1/series", "/api/v1/labels",
              "/api/v1/label/", "/api/v1/read", "/api/v1/write", "/api/v1/import/",
              "/api/v1/stream", "/assets/")


class RedactResponses:
    def __init__(self, app: Any, get_redactor: Any) -> None:
        self.app = app
        self.get_redactor = get_redactor  # a callable: a reload swaps the secrets

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        redactor: Redactor = self.get_redactor()
        if (scope["type"] != "http" or not redactor.values
                or scope.get("path", "").startswith(DATA_PATHS)):
            await self.app(scope, receive, send)
            return
        start: dict | None = None
        plain = True

        async def redacting(message: dict) -> None:
            nonlocal start, plain
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                plain = not any(k.lower() == b"content-encoding" for k, _ in headers)
                start = message
                if not plain:
                    await send(message)
                return
            if message["type"] != "http.response.body" or not plain:
                await send(message)
                return
            body = redactor.values_only(message.get("body", b""))
            if start is not None:
                headers = [(k, v) for k, v in start.get("headers") or []
                           if k.lower() != b"content-length"]
                if not message.get("more_body", False):
                    headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                start = None
            await send({**message, "body": body})

        await self.app(scope, receive, redacting)
