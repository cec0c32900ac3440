"""``/api/v1/report`` on the whole server app over the planted history, the same report as
the command line, 400s that name the parameter, never a 5xx."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planted import STEP, plant

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from inprocess import served_app


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import time

    work = tmp_path_factory.mktemp("served-report")
    end = float(int(time.time()) // STEP * STEP)
    plant(work / "data", end)
    with served_app(work) as (client, service):
        yield client, service, end


def test_the_server_builds_the_report_it_is_asked_for(served):
    client, _, end = served
    r = client.get("/api/v1/report", params={"period": "7d", "end": end, "format": "md"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert "| db | 98.8% | 1 | 2h | 1 | 10m | 2h |" in r.text  # history read in the server
    r = client.get("/api/v1/report", params={"end": end, "title": "<i>Ops</i> weekly"})
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "&lt;i&gt;Ops&lt;/i&gt; weekly" in r.text and "<svg" in r.text


@pytest.mark.parametrize("params, message", [
    ({"period": "5"}, "period"), ({"period": "1m"}, "shorter than 1h"),
    ({"format": "pdf"}, "format must be html or md"), ({"end": "yesterday"}, "end"),
    ({"end": "99999999999"}, "end must be"),
])
def test_bad_parameters_are_400s_naming_them(served, params, message):
    r = served[0].get("/api/v1/report", params=params)
    assert r.status_code == 400 and message in r.json()["error"]


def test_kept_reports_are_listed_and_served_by_exact_name_only(served):
    client, service, _ = served
    from watchkeeper.reports.archive import Archive
    from watchkeeper.server.routes_reports import reports_folder

    name = Archive(reports_folder(service.data_path)).save("weekly", "<p>hi</p>", 0.0)
    assert client.get("/api/v1/reports").json()["data"][0]["file"] == name
    assert client.get(f"/reports/{name}").text == "<p>hi</p>"
    for bad in ("..%2Fdata", "weekly.html", "%2Fetc%2Fpasswd", "weekly-19700101T0000Z.htm"):
        assert client.get(f"/reports/{bad}").status_code == 404


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(period=st.one_of(st.text(max_size=12), st.sampled_from(["1h", "2h", "1d"])),
       fmt=st.text(max_size=6), end=st.one_of(st.text(max_size=12),
                                               st.integers(-10**12, 10**13).map(str)))
def test_fuzzed_parameters_never_break_the_server(served, period, fmt, end):
    r = served[0].get("/api/v1/report", params={"period": period, "format": fmt, "end": end})
    assert r.status_code in (200, 400), (r.status_code, r.text[:200])


def test_the_report_routes_are_in_the_openapi_document(served):
    paths = served[0].get("/api/v1/openapi.json").json()["paths"]
    params = {p["name"] for p in paths["/api/v1/report"]["get"]["parameters"]}
    assert params == {"period", "format", "end", "title"}
    assert "post" in paths["/api/v1/reports/{name}/send"]
