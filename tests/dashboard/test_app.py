"""The mountable app: the page, cacheable assets, dashboards as JSON, safe headers."""

from __future__ import annotations

import json
import re

import pytest

starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from watchkeeper.dashboard import STATIC_DIR, dashboard_app  # noqa: E402


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(dashboard_app())


def test_index_is_never_cached_and_forbids_foreign_scripts(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    # no CDN, works offline (metric names such as http_requests_total may be inlined)
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]", re.sub(r"<meta[^>]*>", "", r.text))


def test_only_the_pages_own_inline_boot_script_is_allowed_to_run(client):
    import base64
    import hashlib

    r = client.get("/")
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    assert len(inline) == 1 and "dashboards/" in inline[0]  # the boot script, inlined
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    sources = re.search(r"script-src ([^;]*)", r.headers["content-security-policy"]).group(1)
    assert sources.split() == ["'self'", f"'sha256-{digest}'"]  # no 'unsafe-inline'


def test_assets_are_shipped_hashed_compressed_and_cached_for_good(client):
    index = client.get("/").text
    assets = re.findall(r'(?:src|href)="(assets/[^"]+)"', index)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert (STATIC_DIR / asset).is_file()
        r = client.get("/" + asset, headers={"accept-encoding": "gzip"})
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["content-encoding"] == "gzip"


def test_dashboards_json_lists_builtins_and_a_configured_override(client):
    from watchkeeper.dashboard import parse_dashboards

    ids = [d["id"] for d in client.get("/dashboards.json").json()["dashboards"]]
    # builtin.yaml's, then each monitor's own builtin.d/*.yaml in name order
    assert ids[:3] == ["host", "process", "targets"] and "jobs" in ids
    mine = parse_dashboards([{"id": "host", "title": "Mine", "rows": [
        {"panels": [{"title": "up", "expr": "up"}]}]}])
    body = TestClient(dashboard_app(mine)).get("/dashboards.json").json()
    host = next(d for d in body["dashboards"] if d["id"] == "host")
    assert host["title"] == "Mine"


def test_unknown_paths_are_404_not_the_page(client):
    assert client.get("/assets/nope.js").status_code == 404
    assert client.get("/api/v1/nothing").status_code == 404


def test_inlined_dashboards_cannot_break_out_of_their_data_block():
    from watchkeeper.dashboard import parse_dashboards

    hostile = "</script><script>alert(1)</script>"
    mine = parse_dashboards([{"id": "x", "title": hostile, "rows": []}])
    page = TestClient(dashboard_app(mine)).get("/").text
    assert hostile not in page
    start = page.index('<script type="application/json" id="dashboards-data">')
    block = page[start:page.index("</script>", start)]
    data = json.loads(block.split(">", 1)[1])
    assert any(d["title"] == hostile for d in data["dashboards"])


def test_assets_plain_for_clients_without_gzip_and_nothing_outside_assets(client):
    index = client.get("/").text
    js = re.search(r'src="(assets/[^"]+\.js)"', index).group(1)
    plain = client.get("/" + js, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == (STATIC_DIR / js).read_bytes()
    for sneaky in ("/assets/..%2Findex.html", "/assets/.gitattributes", "/assets/x.js.gz"):
        assert client.get(sneaky).status_code == 404
