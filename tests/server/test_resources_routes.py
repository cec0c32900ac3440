"""The resource endpoints of the server in this process: answers from the store, fuzzed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import served_app

PATHS = ["/health/performance", "/metrics/database", "/metrics/cache",
         "/metrics/circuit-breaker"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # A real server process has only its own components: the monitors other tests left
    # on this process's score board (an open breaker scores 0) are set aside meanwhile.
    from watchkeeper.integrations.scores import SCOREBOARD

    with SCOREBOARD._lock:
        saved = dict(SCOREBOARD._fns)
        SCOREBOARD._fns.clear()
    try:
        with served_app(tmp_path_factory.mktemp("res")) as (client, _service):
            yield client
    finally:
        with SCOREBOARD._lock:
            SCOREBOARD._fns.update(saved)


@pytest.mark.parametrize("path", PATHS)
def test_each_path_answers_json_and_text(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json(), dict)
    text = client.get(path, headers={"Accept": "text/plain"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), accept=st.text(max_size=30),
       query=st.text(max_size=20), method=st.sampled_from(["GET", "HEAD", "POST"]))
def test_any_request_gets_a_clean_answer(client, path: str, accept: str, query: str,
                                         method: str) -> None:
    accept = accept.encode("ascii", "ignore").decode().replace("\n", "").replace("\r", "")
    response = client.request(method, path, params={"q": query}, headers={"Accept": accept})
    assert response.status_code in (200, 404, 405, 503), response.text
