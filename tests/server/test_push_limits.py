"""Pushed bodies under limits: bombs and out-of-range samples are clean 4xx, and a refused
request writes nothing while what came before stays."""

from __future__ import annotations

import gzip
import math
import time
import zlib

import cramjam
import pytest
import zstandard
from inprocess import served_app

from watchkeeper.server.bodies import BodyError, decompress
from watchkeeper.server.remote_write import encode_write_request

LIMIT = 1 << 20
CONFIG = f"collect_host: false\nweb: {{max_body_bytes: {LIMIT}}}\n"


def _snappy(samples: list) -> bytes:
    return bytes(cramjam.snappy.compress_raw(encode_write_request(samples)))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with served_app(tmp_path_factory.mktemp("push"), CONFIG) as (client, _service):
        yield client


def _write(client, body: bytes, **headers: str):
    return client.post("/api/v1/write", content=body,
                       headers={"Content-Encoding": "snappy", **headers})


def _values(client, expr: str) -> list:
    body = client.get("/api/v1/query", params={"query": expr}).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_a_snappy_header_declaring_4_gib_is_refused_before_decompressing(app) -> None:
    bomb = b"\x80\x80\x80\x80\x10" + b"\x00" * 32  # 37 bytes declaring 4 GiB
    response = _write(app, bomb)
    assert response.status_code == 413
    assert "declares 4294967296 bytes" in response.json()["error"]


@pytest.mark.parametrize("encoding,compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ("snappy", lambda b: bytes(cramjam.snappy.compress_raw(b))),
])
def test_every_import_encoding_is_capped_once_decompressed(app, encoding, compress) -> None:
    bomb = compress(b"# " + b"x" * (4 * LIMIT) + b"\n")
    assert len(bomb) < LIMIT
    response = app.post("/api/v1/import/prometheus", content=bomb,
                        headers={"Content-Encoding": encoding})
    assert response.status_code == 413, response.text
    assert f"the limit is {LIMIT} bytes" in response.json()["error"]
    good = compress(b'pushed_encoded{enc="%s"} 1\n' % encoding.encode())
    response = app.post("/api/v1/import/prometheus", content=good,
                        headers={"Content-Encoding": encoding})
    assert response.status_code == 204, response.text
    assert _values(app, f'pushed_encoded{{enc="{encoding}"}}')


def test_zstd_without_a_declared_size_is_still_capped() -> None:
    stream = zstandard.ZstdCompressor(write_content_size=False).compressobj()
    bomb = stream.compress(b"\0" * (8 * LIMIT)) + stream.flush()
    with pytest.raises(BodyError) as e:
        decompress(bomb, "zstd", LIMIT)
    assert e.value.status == 413


def test_unknown_encodings_and_garbage_are_4xx(app) -> None:
    r = app.post("/api/v1/import/prometheus", content=b"x", headers={"Content-Encoding": "br"})
    assert r.status_code == 415 and "br" in r.json()["error"]
    for encoding in ("gzip", "deflate", "zstd", "snappy"):
        r = app.post("/api/v1/import/prometheus", content=b"\xffgarbage",
                     headers={"Content-Encoding": encoding})
        assert r.status_code == 400 and encoding in r.json()["error"], r.text
    assert _write(app, b"\xffgarbage", **{"Content-Encoding": "gzip"}).status_code == 415


def test_a_body_over_the_limit_is_413(app) -> None:
    r = app.post("/api/v1/import/prometheus", content=b"#" * (LIMIT + 1))
    assert r.status_code == 413
    assert _write(app, b"\0" * (LIMIT + 1)).status_code == 413


@pytest.mark.parametrize("ts", [2**63 - 1, -(2**63), 2**53, -(2**53)])
def test_timestamps_at_the_int64_limits_are_400_and_nothing_is_written(app, ts) -> None:
    now = int(time.time() * 1000)
    good = ({"__name__": "rw_limits", "case": str(ts)}, now, 1.0)
    bad = ({"__name__": "rw_limits_bad", "case": str(ts)}, ts, 1.0)
    response = _write(app, _snappy([good, bad]))
    assert response.status_code == 400
    assert f"timestamp {ts} ms is out of range" in response.json()["error"]
    assert "rw_limits_bad" in response.json()["error"]
    assert not _values(app, f'rw_limits{{case="{ts}"}}')
    assert _write(app, _snappy([good])).status_code == 204
    assert _values(app, f'rw_limits{{case="{ts}"}}')


def test_nan_and_inf_values_and_odd_label_values_are_taken(app) -> None:
    now = int(time.time() * 1000)
    samples = [({"__name__": "rw_odd", "v": name}, now, value)
               for name, value in (("NaN", math.nan), ("+Inf", math.inf), ("-Inf", -math.inf))]
    assert _write(app, _snappy(samples)).status_code == 204
    got = {r["metric"]["v"]: r["value"][1] for r in _values(app, "rw_odd")}
    assert got == {"NaN": "NaN", "+Inf": "+Inf", "-Inf": "-Inf"}


@pytest.mark.parametrize("labels,expected", [
    ({f"l{i}": "v" for i in range(600)}, "has 601 labels; the limit is 512"),
    ({"big": "x" * (65 << 10)}, "label big has a value of 66560 characters"),
    ({"0bad": "v"}, "invalid label name '0bad'"),
])
def test_many_labels_huge_values_and_bad_names_are_400(app, labels, expected) -> None:
    sample = ({"__name__": "rw_labels", **labels}, int(time.time() * 1000), 1.0)
    response = _write(app, _snappy([sample]))
    assert response.status_code == 400
    assert expected in response.json()["error"]
    pairs = ",".join(f'{k}="{v}"' for k, v in labels.items())
    text = "rw_import{" + pairs + "} 1\n"
    response = app.post("/api/v1/import/prometheus", content=text.encode())
    assert response.status_code == 400, response.text


def test_a_metric_name_that_is_not_one_is_400(app) -> None:
    sample = ({"__name__": "no spaces"}, int(time.time() * 1000), 1.0)
    response = _write(app, _snappy([sample]))
    assert response.status_code == 400
    assert "invalid metric name 'no spaces'" in response.json()["error"]
