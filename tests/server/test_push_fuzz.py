"""The push routes under fuzzing: any body, encoding, label or timestamp is answered with a
2xx or a clean 4xx naming the problem, never a 5xx, and what was accepted before stays."""

from __future__ import annotations

import gzip
import time
import zlib

import cramjam
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import served_app

from watchkeeper.server.remote_write import encode_write_request

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
COMPRESS = {"snappy": lambda b: bytes(cramjam.snappy.compress_raw(b)), "gzip": gzip.compress,
            "deflate": zlib.compress, "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
            "identity": lambda b: b}
CANARY = {"__name__": "fuzz_canary", "kept": "yes"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    config = "collect_host: false\nweb: {max_body_bytes: 256KiB}\n"
    with served_app(tmp_path_factory.mktemp("fuzz"), config) as (client, _service):
        body = COMPRESS["snappy"](encode_write_request([(CANARY, int(time.time() * 1000),
                                                         1.0)]))
        assert client.post("/api/v1/write", content=body,
                           headers={"Content-Encoding": "snappy"}).status_code == 204
        yield client
        assert _canary(client), "data accepted before the fuzzing was lost"


def _canary(client) -> bool:
    body = client.get("/api/v1/query", params={"query": "fuzz_canary"}).json()
    return body["status"] == "success" and len(body["data"]["result"]) == 1


def _clean(response) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error and "Traceback" not in error


label_text = st.text(max_size=12)
series = st.dictionaries(st.one_of(st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,6}",
                                                 fullmatch=True), label_text),
                         label_text, max_size=5)
samples = st.lists(st.tuples(
    st.one_of(st.just({}), series).map(lambda d: {"__name__": "fuzz_m", **d}
                                       if "__name__" not in d else d),
    st.one_of(st.integers(-(2**63), 2**63 - 1), st.just(int(time.time() * 1000))),
    st.floats()), max_size=6)


@SETTINGS
@given(samples=samples)
def test_remote_write_samples(app, samples) -> None:
    body = COMPRESS["snappy"](encode_write_request(samples))
    response = app.post("/api/v1/write", content=body, headers={"Content-Encoding": "snappy"})
    _clean(response)
    assert response.status_code in (204, 400)


@SETTINGS
@given(data=st.binary(max_size=400), encoding=st.sampled_from([*sorted(COMPRESS), "br", ""]),
       compress=st.booleans(), route=st.sampled_from(["/api/v1/write",
                                                      "/api/v1/import/prometheus"]))
def test_any_bytes_any_encoding(app, data, encoding, compress, route) -> None:
    if compress and encoding in COMPRESS:
        data = COMPRESS[encoding](data)
    headers = {"Content-Encoding": encoding} if encoding else {}
    _clean(app.post(route, content=data, headers=headers))
    assert _canary(app)


exposition = st.text(alphabet=st.sampled_from(
    [*'# TYPEHELPUNITcountergaugehistogramsummaryinfo EOF\n{}="\\,_total_bucket le+Inf'
     'NaN 0123456789.e-', "\u00e9", "\x00"]), max_size=200)


@SETTINGS
@given(text=exposition, openmetrics=st.booleans(),
       encoding=st.sampled_from(["identity", "gzip", "zstd"]),
       extra=st.lists(st.text(max_size=10), max_size=2))
def test_import_any_exposition(app, text, openmetrics, encoding, extra) -> None:
    ctype = ("application/openmetrics-text; version=1.0.0" if openmetrics
             else "text/plain; version=0.0.4")
    response = app.post("/api/v1/import/prometheus",
                        content=COMPRESS[encoding](text.encode("utf-8", "surrogatepass")),
                        params=[("extra_label", e) for e in extra],
                        headers={"Content-Type": ctype, "Content-Encoding": encoding})
    _clean(response)
    assert response.status_code in (200, 204, 400)
