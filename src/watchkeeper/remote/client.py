"""One HTTP connection to a remote-write endpoint: headers, authentication, TLS, and the
spec's reading of an answer (2xx done, 4xx refused for good, 5xx or no answer: retry).

Each sending thread owns its own ``Client`` (``http.client`` connections are not shared).
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import ssl
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from watchkeeper.config.models import RemoteWriteConfig

_MAX_ANSWER = 64 << 10  # a longer answer body is not read: the connection is dropped


class Refused(Exception):
    """The sink refused the request for good (a 4xx)."""


class Retry(Exception):
    """Send again after ``delay`` seconds (None: the backoff decides)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


def user_agent() -> str:
    """``watchkeeper/VERSION``, a product token as RFC 9110 asks."""
    from watchkeeper import __version__

    return f"watchkeeper/{__version__}"


def tls_context(cfg: RemoteWriteConfig) -> ssl.SSLContext:
    """The endpoint's ``tls_config``: CA, client certificate, server name, or no checks."""
    tls = cfg.tls_config
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.cert_file and tls.key_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Client:
    """POST snappy-compressed protobuf bodies to one endpoint over a kept-alive connection."""

    def __init__(self, cfg: RemoteWriteConfig) -> None:
        self.cfg = cfg
        self.url = urlsplit(cfg.url)
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            timeout = self.cfg.remote_timeout
            host, port = self.url.hostname or "", self.url.port
            if self.url.scheme == "https":
                self._conn = _HTTPS(host, port, timeout=timeout, context=tls_context(self.cfg),
                                    server_name=self.cfg.tls_config.server_name or host)
            else:
                self._conn = http.client.HTTPConnection(host, port, timeout=timeout)
        return self._conn

    def headers(self) -> dict[str, str]:
        cfg = self.cfg
        out = {**cfg.headers, "Content-Encoding": "snappy",
               "Content-Type": "application/x-protobuf", "User-Agent": user_agent(),
               "X-Prometheus-Remote-Write-Version": "0.1.0"}
        if cfg.basic_auth is not None:
            password = _secret_or_file(cfg.basic_auth.password, cfg.basic_auth.password_file)
            token = base64.b64encode(f"{cfg.basic_auth.username}:{password}".encode()).decode()
            out["Authorization"] = f"Basic {token}"
        elif cfg.authorization is not None:
            auth = cfg.authorization
            creds = _secret_or_file(auth.credentials, auth.credentials_file)
            out["Authorization"] = f"{auth.type} {creds}"
        return out

    def post(self, body: bytes) -> None:
        """Deliver ``body``; raises ``Refused`` or ``Retry`` as the spec reads the answer."""
        path = self.url.path or "/"
        if self.url.query:
            path += "?" + self.url.query
        try:
            conn = self._connection()
            conn.request("POST", path, body=body, headers=self.headers())
            resp = conn.getresponse()
            # read the whole answer (a success body is ignored, an error's is logged):
            # what is left unread would be taken for the next request's answer
            text = resp.read(_MAX_ANSWER).decode("utf-8", "replace").strip()
            if resp.will_close or not resp.isclosed():
                self.close()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Retry(f"connection error: {e}") from None
        status = resp.status
        if 200 <= status < 300:
            return
        reason = f"HTTP {status}: {text[:200]}"
        if status == 429 and self.cfg.queue_config.retry_on_http_429:
            raise Retry(reason, _retry_after(resp.getheader("Retry-After")))
        if 400 <= status < 500:
            raise Refused(reason)
        raise Retry(reason)


class _HTTPS(http.client.HTTPSConnection):
    """HTTPS to the URL's host, checking the certificate against ``server_name`` (SNI too)."""

    def __init__(self, host: str, port: int | None, *, timeout: float,
                 context: ssl.SSLContext, server_name: str) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            self.sock, server_hostname=self.server_name)


def _secret_or_file(value: Any, path: str | None) -> str:
    if value is not None:
        return value.get_secret_value()
    if path:
        return Path(path).read_text().strip()
    return ""


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), None when absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
