"""A remote-write 1.0 receiver that records every request, for judging senders.

Requests are decoded with the protobuf runtime from a descriptor of ``prometheus.WriteRequest``
built here (not with watchkeeper's own decoder), so a sender is judged by the wire format
itself. Each endpoint can misbehave in one scripted way (fail its first request with a status,
answer slowly, answer 200 with junk), as the compliance suite's receivers do.
"""

from __future__ import annotations

import hashlib
import math
import random
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, unknown_fields

STALE_BITS = 0x7FF0000000000002


def _build_write_request() -> Any:
    f = descriptor_pb2.FileDescriptorProto(name="rwcapture.proto", package="prometheus",
                                           syntax="proto3")
    T = descriptor_pb2.FieldDescriptorProto

    def msg(name: str, *fields: tuple[str, int, int, str, bool]) -> None:
        m = f.message_type.add(name=name)
        for fname, number, typ, type_name, repeated in fields:
            fd = m.field.add(name=fname, number=number, type=typ,
                             label=T.LABEL_REPEATED if repeated else T.LABEL_OPTIONAL)
            if type_name:
                fd.type_name = type_name

    msg("Label", ("name", 1, T.TYPE_STRING, "", False), ("value", 2, T.TYPE_STRING, "", False))
    msg("Sample", ("value", 1, T.TYPE_DOUBLE, "", False),
        ("timestamp", 2, T.TYPE_INT64, "", False))
    msg("TimeSeries", ("labels", 1, T.TYPE_MESSAGE, ".prometheus.Label", True),
        ("samples", 2, T.TYPE_MESSAGE, ".prometheus.Sample", True))
    msg("MetricMetadata", ("type", 1, T.TYPE_INT32, "", False),
        ("metric_family_name", 2, T.TYPE_STRING, "", False),
        ("help", 4, T.TYPE_STRING, "", False), ("unit", 5, T.TYPE_STRING, "", False))
    msg("WriteRequest", ("timeseries", 1, T.TYPE_MESSAGE, ".prometheus.TimeSeries", True),
        ("metadata", 3, T.TYPE_MESSAGE, ".prometheus.MetricMetadata", True))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prometheus.WriteRequest"))


WriteRequest = _build_write_request()
METRIC_TYPES = ("unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary",
                "info", "stateset")


@dataclass
class Sample:
    labels: tuple[tuple[str, str], ...]  # as sent, in the sent order
    ts: int
    value: float

    @property
    def map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def stale(self) -> bool:
        return struct.unpack("<Q", struct.pack("<d", self.value))[0] == STALE_BITS


@dataclass
class Request:
    at: float
    method: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    error: str = ""  # why the body did not decode
    series: list[list[Sample]] = field(default_factory=list)
    metadata: list[tuple[str, str, str, str]] = field(default_factory=list)
    unknown: int = 0  # fields outside remote write 1.0 (histograms, exemplars, symbols)

    @property
    def samples(self) -> list[Sample]:
        return [s for ser in self.series for s in ser]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def decode(req: Request) -> None:
    try:
        raw = bytes(cramjam.snappy.decompress_raw(req.body))
        msg = WriteRequest.FromString(raw)
    except Exception as e:  # recorded and judged by the tests
        req.error = f"{type(e).__name__}: {e}"
        return
    req.unknown = len(unknown_fields.UnknownFieldSet(msg))
    for ts in msg.timeseries:
        req.unknown += len(unknown_fields.UnknownFieldSet(ts))
        labels = tuple((lb.name, lb.value) for lb in ts.labels)
        req.series.append([Sample(labels, s.timestamp, s.value) for s in ts.samples])
    for m in msg.metadata:
        typ = METRIC_TYPES[m.type] if 0 <= m.type < len(METRIC_TYPES) else str(m.type)
        req.metadata.append((m.metric_family_name, typ, m.help, m.unit))


@dataclass
class Endpoint:
    """One receiving URL. ``first_status``: the first request carrying samples gets it
    (with ``retry_after`` if set); ``always_status``: every request gets it; ``first_delay``:
    the first request is answered that late; ``junk``: 2xx answers carry a junk body;
    ``jitter``: each answer waits up to that many seconds (to tempt reordering)."""

    name: str
    first_status: int = 0
    always_status: int = 0
    retry_after: str = ""
    first_delay: float = 0.0
    junk: bool = False
    jitter: float = 0.0
    error_body: int = 64
    delay: float = 0.0  # every answer waits this long
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    inflight: int = 0
    max_inflight: int = 0  # requests being answered at once, at most

    def answer(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            first = not any(r.samples for r in self.requests)
            self.requests.append(req)
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            return self._answer(req, first)
        finally:
            with self.lock:
                self.inflight -= 1

    def _answer(self, req: Request, first: bool) -> tuple[int, dict[str, str], bytes]:
        if self.delay:
            time.sleep(self.delay)
        if self.first_delay and first:
            time.sleep(self.first_delay)
        if self.jitter:
            time.sleep(random.uniform(0, self.jitter))
        status = 204
        if self.always_status:
            status = self.always_status
        elif self.first_status and first and req.samples:
            status = self.first_status
        headers = {"Retry-After": self.retry_after} if status == 429 and self.retry_after else {}
        if status >= 400:
            return status, headers, b"refused: " + b"x" * self.error_body
        if self.junk:
            return 200, {"Content-Type": "application/json"}, b"\x00{not json" * 1000
        return status, headers, b""

    @property
    def accepted(self) -> list[Request]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def accepted_samples(self) -> list[Sample]:
        return [s for r in self.accepted for s in r.samples]


class Receiver:
    """A threaded HTTP server: ``POST /write/NAME`` records into ``endpoints[NAME]``; every
    other path is answered by ``pages`` (path -> callable returning the body), used as
    scrape targets."""

    def __init__(self, endpoints: list[Endpoint], pages: dict[str, Any] | None = None,
                 port: int = 0) -> None:
        self.endpoints = {e.name: e for e in endpoints}
        self.pages = pages or {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                page = owner.pages.get(self.path)
                if page is None:
                    return self._send(404, {}, b"no such page")
                self._send(200, {"Content-Type": "text/plain; version=0.0.4"},
                           page().encode())

            def do_POST(self) -> None:
                self._write("POST")

            def do_PUT(self) -> None:
                self._write("PUT")

            def _write(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ep = owner.endpoints.get(self.path.removeprefix("/write/"))
                if ep is None:
                    return self._send(404, {}, b"no such endpoint")
                req = Request(time.time(), method, {k.lower(): v for k, v in
                                                    self.headers.items()}, body)
                decode(req)
                status, headers, out = ep.answer(req)
                req.status = status
                try:
                    self._send(status, headers, out)
                except OSError:
                    req.status = -1  # the sender gave up waiting (its timeout)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> Receiver:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def write_url(self, name: str) -> str:
        return f"{self.url}/write/{name}"


def same_float(a: float, b: float) -> bool:
    """Bit-exact equality (NaN payloads included)."""
    return struct.pack("<d", a) == struct.pack("<d", b) or (a == b and not math.isnan(a))
