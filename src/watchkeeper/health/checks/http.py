"""HTTP(S) endpoint check: status code, latency, body or JSON condition, certificate expiry.

It uses the stdlib's http.client rather than httpx: a service that only instruments gets
HTTP checks with no extra dependency, and the socket is at hand to read the peer
certificate even when verification is off (a small DER reader takes its expiry date).
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import ssl
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from ..check import Check, slug
from ..model import CheckError, Outcome, Status
from . import redact_url
from .net import connect_error

MAX_BODY = 1 << 20
_PATH_TOKEN = re.compile(r"[^.\[\]]+")


class HttpCheck(Check):
    type = "http"

    def __init__(
        self,
        *,
        url: str,
        method: str = "GET",
        expected_status: list[int] | None = None,
        headers: dict[str, str] | None = None,
        body_contains: str | None = None,
        json_path: str | None = None,
        json_equals: Any = None,
        degraded_latency: float | None = None,
        verify_tls: bool = True,
        ca_file: str | None = None,
        cert_degraded_days: float = 14,
        cert_unhealthy_days: float = 0,
        **common: Any,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http:// or https:// URL with a host, got {url!r}")
        common.setdefault("name", slug(f"http-{parts.hostname}"))
        super().__init__(**common)
        self.url, self.parts, self.method = redact_url(url), parts, method.upper()
        self.expected_status = expected_status
        self.headers = dict(headers or {})
        if parts.username is not None and "Authorization" not in self.headers:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
        self.body_contains, self.json_path, self.json_equals = body_contains, json_path, json_equals
        self.degraded_latency = degraded_latency
        self.verify_tls, self.ca_file = verify_tls, ca_file
        self.cert_degraded_days, self.cert_unhealthy_days = cert_degraded_days, cert_unhealthy_days

    @property
    def _socket_timeout(self) -> float:
        """A little under the check's timeout, so the socket's clearer message wins."""
        return self.timeout * 0.9

    def _connection(self) -> http.client.HTTPConnection:
        host, port = self.parts.hostname, self.parts.port
        if self.parts.scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=self._socket_timeout)
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(host, port, timeout=self._socket_timeout,
                                           context=context)

    def check(self) -> Outcome:
        conn = self._connection()
        target = self.parts.path or "/"
        if self.parts.query:
            target += "?" + self.parts.query
        t0 = time.perf_counter()
        try:
            conn.connect()
            # read now: the connection drops its socket once a non-keep-alive answer is read
            der = conn.sock.getpeercert(binary_form=True) if isinstance(
                conn.sock, ssl.SSLSocket) else None
            conn.request(self.method, target, headers=self.headers)
            response = conn.getresponse()
            body = response.read(MAX_BODY)
        except ssl.SSLCertVerificationError as e:
            raise CheckError(f"TLS certificate of {self.url} rejected: {e.verify_message}") \
                from None
        except ssl.SSLError as e:
            raise CheckError(f"TLS handshake with {self.url} failed: {e.reason or e}") from None
        except (TimeoutError, OSError) as e:
            if isinstance(e, TimeoutError) and conn.sock is not None:
                raise CheckError(
                    f"{self.url} accepted the connection but did not answer "
                    f"within {self._socket_timeout:g} s"
                ) from None
            raise connect_error(self.parts.hostname or "", self._port(), e) from None
        except http.client.HTTPException as e:
            raise CheckError(f"{self.url} answered with invalid HTTP: {e!r}") from None
        finally:
            conn.close()
        latency = time.perf_counter() - t0
        return self._judge(response.status, body, latency, der)

    def _port(self) -> int:
        return self.parts.port or (443 if self.parts.scheme == "https" else 80)

    def _judge(self, code: int, body: bytes, latency: float, der: bytes | None) -> Outcome:
        def outcome(status: Status, details: str) -> Outcome:
            return Outcome(status, details, observed_value=round(latency * 1000, 3),
                           observed_unit="ms", measurement="responseTime",
                           component_type="component")

        ok = code in self.expected_status if self.expected_status else 200 <= code < 400
        if not ok:
            want = ", ".join(map(str, self.expected_status or ())) or "2xx or 3xx"
            return outcome(Status.UNHEALTHY, f"{self.url} answered {code}, expected {want}")
        if self.body_contains is not None and self.body_contains.encode() not in body:
            return outcome(Status.UNHEALTHY, f"body of {self.url} lacks {self.body_contains!r}")
        if self.json_path is not None:
            problem = self._json_problem(body)
            if problem:
                return outcome(Status.UNHEALTHY, problem)
        notes = [f"{code} in {latency * 1000:.1f} ms"]
        status = Status.HEALTHY
        if self.degraded_latency is not None and latency >= self.degraded_latency:
            status = Status.DEGRADED
            notes.append(f"slower than {self.degraded_latency:g} s")
        if der is not None:
            days = (certificate_not_after(der) - datetime.now(UTC)).total_seconds() / 86400
            notes.append(f"certificate expires in {days:.1f} days")
            if days <= self.cert_unhealthy_days:
                status = Status.UNHEALTHY
            elif days <= self.cert_degraded_days:
                status = Status.worst((status, Status.DEGRADED))
        return outcome(status, f"{self.url}: " + ", ".join(notes))

    def _json_problem(self, body: bytes) -> str | None:
        try:
            value: Any = json.loads(body)
        except ValueError:
            return f"body of {self.url} is not JSON"
        for token in _PATH_TOKEN.findall(self.json_path.removeprefix("$")):  # type: ignore
            try:
                value = value[int(token)] if isinstance(value, list) else value[token]
            except (KeyError, IndexError, ValueError, TypeError):
                return f"{self.json_path} not found in the JSON of {self.url}"
        if self.json_equals is None:
            return None if value not in (None, False) else f"{self.json_path} is {value!r}"
        if value != self.json_equals:
            return f"{self.json_path} is {value!r}, expected {self.json_equals!r}"
        return None


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``pos``."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def certificate_not_after(der: bytes) -> datetime:
    """The ``notAfter`` date of an X.509 certificate in DER form."""
    try:
        _, pos, _ = _tlv(der, 0)  # Certificate
        _, pos, _ = _tlv(der, pos)  # tbsCertificate
        tag, start, end = _tlv(der, pos)
        if tag == 0xA0:  # explicit version
            pos = end
        for _ in range(3):  # serialNumber, signature, issuer
            pos = _tlv(der, pos)[2]
        _, start, _ = _tlv(der, pos)  # validity
        nb_end = _tlv(der, start)[2]  # notBefore
        tag, na_start, na_end = _tlv(der, nb_end)  # notAfter
        text = der[na_start:na_end].decode("ascii")
        fmt = "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ"
        return datetime.strptime(text, fmt).replace(tzinfo=UTC)
    except (IndexError, ValueError, UnicodeDecodeError) as e:
        raise CheckError(f"cannot read the certificate's expiry date ({e})") from None
