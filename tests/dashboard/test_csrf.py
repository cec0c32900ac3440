"""Cross-site state changes are refused; same-origin pages and API clients pass."""

from __future__ import annotations

import pytest

starlette = pytest.importorskip("starlette")
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from watchkeeper.dashboard.csrf import CrossSiteGuard  # noqa: E402


async def act(request):
    return PlainTextResponse("done")


@pytest.fixture
def client() -> TestClient:
    app = Starlette(routes=[Route("/act", act, methods=["GET", "POST", "PUT", "DELETE"])])
    return TestClient(CrossSiteGuard(app), base_url="http://127.0.0.1:9099")


@pytest.mark.parametrize("headers", [
    {"origin": "http://evil.example"},
    {"origin": "null"},
    {"origin": "http://127.0.0.1:9100"},  # another port is another origin
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site", "origin": "http://127.0.0.1:9099"},
])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_cross_site_changes_are_refused(client, method, headers):
    response = client.request(method, "/act", headers=headers)
    assert response.status_code == 403
    assert "cross-site" in response.json()["error"]


@pytest.mark.parametrize("headers", [
    {},  # curl, amtool, scripts
    {"origin": "http://127.0.0.1:9099", "sec-fetch-site": "same-origin"},
    {"sec-fetch-site": "none"},  # typed by the user
])
def test_same_origin_pages_and_api_clients_pass(client, headers):
    assert client.post("/act", headers=headers).text == "done"


def test_reads_are_never_blocked(client):
    assert client.get("/act", headers={"origin": "http://evil.example",
                                       "sec-fetch-site": "cross-site"}).text == "done"
