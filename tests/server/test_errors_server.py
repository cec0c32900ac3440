"""Error tracking in a real ``watchkeeper serve``: the real ``sentry-sdk`` reporting into
the envelope endpoint, the errors API, statuses and regressions, metrics, auth, fuzz."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_process import ServeProcess

sys.path.insert(0, str(Path(__file__).parents[1] / "integrations" / "errors"))
import corpus

from watchkeeper.integrations.errors import components_of_exception, group_id

pytestmark = pytest.mark.peer
TOKEN = "tok-errors-1"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config = {"web": {"auth": {"bearer_tokens": [TOKEN]}, "max_body_bytes": 2**20}}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with ServeProcess(tmp_path_factory.mktemp("errors"), config, headers=headers) as server:
        yield server


def _envelope(event: dict) -> bytes:
    payload = json.dumps(event).encode()
    return b"\n".join([b'{"event_id":"e1"}',
                       json.dumps({"type": "event", "length": len(payload)}).encode(),
                       payload, b'{"type":"session"}', b'{"sid":"s"}'])


def _post(server, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/1/envelope/", content=body, timeout=10,
                      headers={"X-Sentry-Auth": f"Sentry sentry_key={TOKEN}", **headers})


@contextlib.contextmanager
def sentry(dsn: str, **options: Any) -> Iterator[None]:
    """``sentry_sdk.init(dsn=...)`` as an application calls it; closed afterwards."""
    import sentry_sdk

    sentry_sdk.init(dsn=dsn, **options)
    try:
        yield
    finally:
        sentry_sdk.flush(10)
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: nothing more is sent


def _groups(server) -> dict[str, dict]:
    rows = server.client.get("/api/v1/errors", params={"limit": 1000}).json()["data"]
    return {r["id"]: r for r in rows}


def test_the_corpus_through_the_real_sentry_sdk_groups_identically(served) -> None:
    import sentry_sdk

    events = corpus.generate(per_label=24, seed=11)
    local: dict[str, int] = {}
    with sentry(f"http://{TOKEN}@127.0.0.1:{served.port}/1"):
        for n, (_, exc, fingerprint) in enumerate(events, 1):
            gid = group_id(components_of_exception(exc, fingerprint))
            local[gid] = local.get(gid, 0) + 1
            with sentry_sdk.new_scope() as scope:
                if fingerprint:
                    scope.fingerprint = fingerprint
                sentry_sdk.capture_exception(exc)
            if n % 40 == 0:
                sentry_sdk.flush(10)  # the SDK's queue holds 100 envelopes
        sentry_sdk.flush(10)
    stored = _groups(served)
    assert {g: stored[g]["count"] for g in local if g in stored} == local
    assert len(local) == len({label for label, _, _ in events})


def test_messages_breadcrumbs_and_other_items_from_the_sdk(served) -> None:
    import sentry_sdk

    with sentry(f"http://{TOKEN}@127.0.0.1:{served.port}/7", release="shop@2.0"):
        sentry_sdk.add_breadcrumb(category="auth", message="user 7 logged in")
        sentry_sdk.capture_message("quota 93 percent used")
        sentry_sdk.flush(10)
    groups = [g for g in _groups(served).values() if g["title"].startswith("quota")]
    assert len(groups) == 1 and groups[0]["last_release"] == "shop@2.0"
    detail = served.client.get(f"/api/v1/errors/{groups[0]['id']}").json()["data"]
    crumbs = detail["samples"][0]["breadcrumbs"]
    values = crumbs["values"] if isinstance(crumbs, dict) else crumbs
    assert values[-1]["message"] == "user 7 logged in"
    assert detail["explanation"]["basis"] == "message"


def test_resolve_regression_ignore_and_the_metrics(served) -> None:
    event = {"exception": {"values": [{"type": "KeyError", "value": "'basket 12 gone'"}]},
             "tags": {"http_route": "/cart"}}
    body = _post(served, _envelope(event)).json()
    gid = body["groups"][0]
    assert body["accepted"] == 1 and body["skipped"] == 1
    resolved = served.client.post(f"/api/v1/errors/{gid}/resolve").json()["data"]
    assert resolved["status"] == "resolved"
    _post(served, _envelope(event))
    group = served.client.get(f"/api/v1/errors/{gid}").json()["data"]
    assert group["status"] == "open" and group["regressed"] and group["count"] == 2
    regressed = f'watchkeeper_error_group_regressed{{error_group="{gid}",error_type="KeyError"}} 1'
    counted = f'errors_total{{error_group="{gid}",error_type="KeyError",http_route="/cart"}} 2'
    # /metrics serves what the collection loop gathered last (about every second)
    served.wait_until(lambda: all(t in served.client.get("/metrics").text
                                  for t in (regressed, counted)), 15, "the error metrics")
    assert served.client.post(f"/api/v1/errors/{gid}/ignore").json()["data"]["status"] == \
        "ignored"
    assert served.client.post("/api/v1/errors/nope/resolve").status_code == 404
    assert served.client.post(f"/api/v1/errors/{gid}/explode").status_code == 404
    assert served.client.get("/api/v1/errors", params={"status": "x"}).status_code == 400


def test_compressed_bodies_and_the_size_cap(served) -> None:
    body = _envelope({"message": "compressed 1"})
    assert _post(served, gzip.compress(body), **{"Content-Encoding": "gzip"}).status_code == 200
    assert _post(served, zlib.compress(body),
                 **{"Content-Encoding": "deflate"}).status_code == 200
    bomb = gzip.compress(b"{" + b" " * 30_000_000)
    response = _post(served, bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413 and "over" in response.json()["detail"]
    assert _post(served, b"x" * (2**20 + 10)).status_code == 413  # raw cap, before anything
    response = _post(served, b"not an envelope")
    assert response.status_code == 400 and "not JSON" in response.json()["detail"]


def test_the_endpoint_honours_the_servers_auth(served) -> None:
    url = f"{served.url}/api/1/envelope/"
    body = _envelope({"message": "auth"})
    assert httpx.post(url, content=body).status_code == 401
    wrong = {"X-Sentry-Auth": "Sentry sentry_key=wrong"}
    assert httpx.post(url, content=body, headers=wrong).status_code == 401
    assert httpx.post(f"{url}?sentry_key={TOKEN}", content=body).status_code == 200
    store = f"{served.url}/api/1/store/"
    assert httpx.post(store, content=json.dumps({"message": "legacy"}),
                      headers={"X-Sentry-Auth": f"Sentry sentry_key={TOKEN}"}
                      ).status_code == 200
    assert httpx.get(f"{served.url}/api/v1/errors").status_code == 401


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["exception", "values", "type", "value", "stacktrace", "frames",
                         "module", "function", "in_app", "tags", "timestamp", "user",
                         "fingerprint", "logentry", "message", "release", "id"]),
        inner, max_size=5), max_leaves=20).map(
    lambda v: _envelope(v) if isinstance(v, dict) else json.dumps(v).encode()),
       encoding=st.sampled_from(["", "gzip", "deflate", "br", "identity"]))
def test_any_body_gets_an_answer_never_a_5xx(served, body, encoding) -> None:
    response = _post(served, body, **({"Content-Encoding": encoding} if encoding else {}))
    assert response.status_code in (200, 400, 413, 415), response.text
    legacy = httpx.post(f"{served.url}/api/2/store/", content=body, timeout=10,
                        headers={"X-Sentry-Auth": f"Sentry sentry_key={TOKEN}"})
    assert legacy.status_code in (200, 400), legacy.text


def test_cli_lists_shows_and_resolves_through_the_server(served, monkeypatch) -> None:
    from click.testing import CliRunner

    from watchkeeper.cli.errors import errors

    gid = _post(served, _envelope({"message": "cli check 5"})).json()["groups"][0]
    monkeypatch.setenv("WATCHKEEPER_TOKEN", TOKEN)
    run = CliRunner().invoke
    listed = run(errors, ["--url", served.url, "list"], catch_exceptions=False)
    assert listed.exit_code == 0 and gid in listed.output
    shown = run(errors, ["--url", served.url, "show", gid], catch_exceptions=False)
    assert "Grouped by" in shown.output and "cli check" in shown.output
    done = run(errors, ["--url", served.url, "resolve", gid], catch_exceptions=False)
    assert f"error group {gid} is now resolved" in done.output
    missing = run(errors, ["--url", served.url, "show", "nope"])
    assert missing.exit_code != 0 and "404" in missing.output


def test_a_process_sends_its_captured_exceptions_to_the_server(served) -> None:
    from watchkeeper.integrations import errors

    def refund(order_id: int, card_token: str = "tok_live_1") -> None:
        raise ArithmeticError(f"refund {order_id} exceeds the charge")

    sender = errors.send_to(served.url, token=TOKEN)
    try:
        try:
            refund(77)
        except ArithmeticError as e:
            gid = errors.capture_exception(e, user="customer-9")
        served.wait_until(lambda: gid in _groups(served), 15, "the sent group")
    finally:
        errors.CAPTURE.remove_sink(sender)
    group = served.client.get(f"/api/v1/errors/{gid}").json()["data"]
    assert group["users"] == 1 and sender.failed == 0
    frames = group["samples"][0]["exception"]["values"][0]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "refund"
    assert frames[-1]["vars"] == {"order_id": "77", "card_token": "[redacted]"}


def test_the_error_routes_are_in_the_openapi_document(served) -> None:
    server = served
    paths = server.client.get("/api/v1/openapi.json").json()["paths"]
    for path, method in [("/api/v1/errors", "get"), ("/api/v1/errors/{group}", "get"),
                         ("/api/v1/errors/{group}/resolve", "post"),
                         ("/api/v1/errors/{group}/ignore", "post"),
                         ("/api/v1/errors/{group}/reopen", "post"),
                         ("/api/{project}/envelope/", "post"), ("/api/{project}/store/", "post")]:
        op = paths[path][method]
        declared = {p["name"] for p in op.get("parameters", ()) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), path
    # the document describes what the route answers
    listed = server.client.get("/api/v1/errors", params={"limit": 1}).json()["data"]
    for row in listed:
        for field in ("id", "title", "culprit", "error_type", "status", "count", "users"):
            assert field in row and field in paths["/api/v1/errors"]["get"]["summary"]
