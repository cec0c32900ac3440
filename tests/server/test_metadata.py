"""/api/v1/metadata and /api/v1/targets/metadata: the server's own metrics and remote-write
metadata (the comparison with a real Prometheus scraping the same target is in
test_metadata_prometheus.py)."""

from __future__ import annotations

import cramjam
import pytest
from inprocess import served_app

from watchkeeper.server.remote_write import encode_write_request


def _metadata_message(name: str, typ: int, help_text: str, unit: str) -> bytes:
    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    body = bytes([1 << 3, typ]) + field(2, name.encode()) + field(4, help_text.encode())
    return field(3, body + field(5, unit.encode()))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with served_app(tmp_path_factory.mktemp("meta")) as (client, service):
        service.collect_once()
        yield client


def _get(client, path: str, **params: str):
    body = client.get(path, params=params).json()
    assert body["status"] == "success", body
    return body["data"]


def test_the_servers_own_metrics_have_metadata(app) -> None:
    data = _get(app, "/api/v1/metadata", metric="watchkeeper_health_status")
    assert data == {"watchkeeper_health_status": [
        {"type": "gauge", "help": data["watchkeeper_health_status"][0]["help"], "unit": ""}]}
    assert data["watchkeeper_health_status"][0]["help"]
    own = _get(app, "/api/v1/targets/metadata", match_target='{job="watchkeeper"}')
    assert own and all(m["target"]["job"] == "watchkeeper" for m in own)
    assert {"target", "metric", "type", "help", "unit"} == set(own[0])


def test_remote_write_metadata_is_listed(app) -> None:
    body = encode_write_request([({"__name__": "pushed_requests_total"}, 1, 1.0)])
    body += _metadata_message("pushed_requests_total", 1, "Requests pushed.", "")
    body += _metadata_message("pushed_size_bytes", 2, "Size.", "bytes")
    response = app.post("/api/v1/write", content=bytes(cramjam.snappy.compress_raw(body)),
                        headers={"Content-Encoding": "snappy"})
    assert response.status_code == 204
    assert _get(app, "/api/v1/metadata", metric="pushed_size_bytes") == {
        "pushed_size_bytes": [{"type": "gauge", "help": "Size.", "unit": "bytes"}]}
    assert _get(app, "/api/v1/metadata", metric="pushed_requests_total")[
        "pushed_requests_total"] == [{"type": "counter", "help": "Requests pushed.", "unit": ""}]


def test_limits_as_prometheus_reads_them(app) -> None:
    everything = _get(app, "/api/v1/metadata")
    assert len(everything) > 3
    assert list(_get(app, "/api/v1/metadata", limit="2")) == sorted(everything)[:2]
    assert _get(app, "/api/v1/metadata", limit="0") == {}
    assert len(_get(app, "/api/v1/metadata", limit="-1")) == len(everything)
    assert _get(app, "/api/v1/targets/metadata", limit="0") == []
    for path, name in (("/api/v1/metadata", "limit"), ("/api/v1/metadata", "limit_per_metric"),
                       ("/api/v1/targets/metadata", "limit")):
        r = app.get(path, params={name: "x"})
        assert r.status_code == 400 and r.json()["error"] == f"{name} must be a number"
    r = app.get("/api/v1/targets/metadata", params={"match_target": "{job="})
    assert r.status_code == 400 and "match_target" in r.json()["error"]
