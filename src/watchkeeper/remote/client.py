"""One HTTP connection to an endpoint we send stored samples to (remote write, OTLP out):
headers, authentication, TLS, and reading an answer as retry, refusal or success.

Both senders use it, each with its own protocol's rules: remote write resends 5xx (and 429
when configured), OTLP/HTTP resends 429, 502, 503 and 504; every other non-2xx answer
refuses the request for good. Each sending thread owns its own client (``http.client``
connections are not shared).
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from watchkeeper.config.outbound import RemoteWriteConfig, _Endpoint

MAX_ANSWER = 64 << 10  # a longer answer body is not read: the connection is dropped


class Refused(Exception):
    """The sink refused the request for good (never resent)."""


class Retry(Exception):
    """Send again after ``delay`` seconds (None: the backoff decides)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


def user_agent() -> str:
    """``watchkeeper/VERSION``, a product token as RFC 9110 asks."""
    from watchkeeper import __version__

    return f"watchkeeper/{__version__}"


def tls_context(cfg: _Endpoint) -> ssl.SSLContext:
    """The endpoint's ``tls_config``: CA, client certificate, server name, or no checks."""
    tls = cfg.tls_config
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.cert_file and tls.key_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def secret_or_file(value: Any, path: str | None) -> str:
    """A secret given inline (a ``SecretStr``) or in a file (read at each use, so a
    rotated credential is picked up without a reload)."""
    if value is not None:
        return value.get_secret_value()
    if path:
        return Path(path).read_text().strip()
    return ""


def auth_header(cfg: _Endpoint) -> str | None:
    """The ``Authorization`` value for the endpoint's ``basic_auth`` or ``authorization``."""
    if cfg.basic_auth is not None:
        password = secret_or_file(cfg.basic_auth.password, cfg.basic_auth.password_file)
        token = base64.b64encode(f"{cfg.basic_auth.username}:{password}".encode()).decode()
        return f"Basic {token}"
    if cfg.authorization is not None:
        auth = cfg.authorization
        return f"{auth.type} {secret_or_file(auth.credentials, auth.credentials_file)}"
    return None


def retry_after(value: str | None) -> float | None:
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


def remote_write_retries(cfg: RemoteWriteConfig) -> Callable[[int], bool]:
    """The remote-write spec: 5xx resent; 4xx never, except 429 when configured."""
    on_429 = cfg.queue_config.retry_on_http_429
    return lambda status: status >= 500 or (status == 429 and on_429)


class HTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the URL's host, checking the certificate against ``server_name`` (SNI too)."""

    def __init__(self, host: str, port: int | None, *, timeout: float,
                 context: ssl.SSLContext, server_name: str) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            self.sock, server_hostname=self.server_name)


class Client:
    """POST bodies to one endpoint over a kept-alive connection.

    ``headers`` are the protocol's own (content type and encoding); ``retryable`` says
    which non-2xx statuses are resent, ``retry_after`` after which of them ``Retry-After``
    is honoured (None: all). The defaults are remote write's."""

    def __init__(self, cfg: _Endpoint, *, timeout: float | None = None,
                 headers: Mapping[str, str] | None = None,
                 retryable: Callable[[int], bool] | None = None,
                 retry_after: frozenset[int] | None = None,
                 max_answer: int = MAX_ANSWER) -> None:
        self.cfg = cfg
        self.url = urlsplit(cfg.url)
        self.timeout = timeout if timeout is not None else getattr(cfg, "remote_timeout", 30.0)
        if headers is None:
            headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                       "X-Prometheus-Remote-Write-Version": "0.1.0"}
        self._own_headers = dict(headers)
        if retryable is None:
            assert isinstance(cfg, RemoteWriteConfig)
            retryable = remote_write_retries(cfg)
            # Prometheus 2.42 reads Retry-After on a 429 only (a 5xx takes the backoff)
            retry_after = frozenset({429}) if retry_after is None else retry_after
        self.retryable = retryable
        self.retry_after = retry_after  # statuses whose Retry-After is honoured (None: all)
        self.max_answer = max_answer
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            host, port = self.url.hostname or "", self.url.port
            if self.url.scheme == "https":
                self._conn = HTTPSConnection(
                    host, port, timeout=self.timeout, context=tls_context(self.cfg),
                    server_name=self.cfg.tls_config.server_name or host)
            else:
                self._conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        return self._conn

    def headers(self) -> dict[str, str]:
        out = {**self.cfg.headers, **self._own_headers, "User-Agent": user_agent()}
        auth = auth_header(self.cfg)
        if auth is not None:
            out["Authorization"] = auth
        return out

    def post(self, body: bytes) -> bytes:
        """Deliver ``body`` and return a 2xx answer's body; raises ``Refused`` or
        ``Retry`` as the protocol reads any other answer or a connection error."""
        path = self.url.path or "/"
        if self.url.query:
            path += "?" + self.url.query
        try:
            conn = self._connection()
            conn.request("POST", path, body=body, headers=self.headers())
            resp = conn.getresponse()
            # read the whole answer (a success body may matter, an error's is logged):
            # what is left unread would be taken for the next request's answer
            answer = resp.read(self.max_answer)
            if resp.will_close or not resp.isclosed():
                self.close()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Retry(f"connection error: {e}") from None
        status = resp.status
        if 200 <= status < 300:
            return answer
        reason = f"HTTP {status}: {answer[:200].decode('utf-8', 'replace').strip()}"
        if self.retryable(status):
            honour = self.retry_after is None or status in self.retry_after
            raise Retry(reason, retry_after(resp.getheader("Retry-After")) if honour else None)
        raise Refused(reason)
