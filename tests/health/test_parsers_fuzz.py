"""Parsers of outside input never crash: query strings, certificates, JSON paths."""

import http.server
import json
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.health import CheckError, Runner, Status, create_check
from watchkeeper.health.checks.http import certificate_not_after
from watchkeeper.health.endpoints import Query, kind_of


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_query_string_parses(query):
    q = Query.parse(query)
    assert isinstance(q.verbose, bool) and isinstance(q.fresh, bool)
    assert all(isinstance(name, str) and name for name in q.exclude)


def test_query_flags_and_excludes():
    q = Query.parse("verbose&exclude=db,cache&exclude=disk&fresh=0")
    assert q.verbose and not q.fresh and q.exclude == {"db", "cache", "disk"}


@given(st.text(max_size=40))
def test_any_path_maps_to_an_endpoint_or_none(path):
    assert kind_of(path) in (None, "health", "live", "ready")


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_certificates_are_a_check_error(data):
    try:
        certificate_not_after(data)
    except CheckError as e:
        assert "expiry date" in str(e)


class JsonHandler(http.server.BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=10)


def test_any_json_path_on_any_document_gives_a_result():
    server = http.server.HTTPServer(("127.0.0.1", 0), JsonHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    @settings(max_examples=100, deadline=None)
    @given(document=json_values, path=st.text(alphabet="$.[]ab01", max_size=12))
    def judge(document, path):
        JsonHandler.body = json.dumps(document).encode()
        check = create_check("http", {"url": url, "json_path": path})
        result = Runner([check]).run_sync()[0]
        assert result.status in (Status.HEALTHY, Status.UNHEALTHY)
        assert "Error" not in result.details, result.details

    try:
        judge()
    finally:
        server.shutdown()
        server.server_close()
