"""PromQL regexes are RE2 as in Prometheus: linear time, RE2 syntax, anchored."""

import numpy as np
import pytest
from starlette.testclient import TestClient

from watchkeeper.promql.engine import Engine
from watchkeeper.promql.http_api import create_app
from watchkeeper.tsdb.errors import BadMatcherError
from watchkeeper.tsdb.matchers import Matcher, compile_regex
from watchkeeper.tsdb.store import Store

T0 = 1_700_000_000
EVIL = "a" * 20_000 + "!"


@pytest.fixture
def client(tmp_path):
    store = Store.open(tmp_path / "data", background=False)
    ts = (T0 + np.arange(0, 600, 15)) * 1000
    for value in ("api", "web-1", EVIL, "host:9100"):
        store.append_array({"__name__": "up", "v": value}, ts, np.ones(len(ts)))
    with TestClient(create_app(store, Engine(store))) as c:
        yield c
    store.close()


@pytest.mark.parametrize("pattern", ["(a+)+b", "(a|aa)+b", "(a*)*b", "(.*a){20}b",
                                     "((a+)+)+$x"])
def test_catastrophic_backtracking_shapes_answer(client, pattern):
    r = client.get("/api/v1/query", params={"query": f'count(up{{v=~"{pattern}"}})',
                                            "time": T0 + 60})
    assert r.status_code == 200, r.text  # Python's re would run for ever on EVIL
    r = client.get("/api/v1/query", params={
        "query": f'label_replace(up, "x", "$1", "v", "{pattern}")', "time": T0 + 60})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("pattern", "why"), [
    (r"(a)\\1", "invalid escape sequence"),  # backreference
    ("(?=a)", "invalid perl operator"),  # lookahead
    ("(?<=a)b", "(?<"),  # lookbehind
    ("a++", "bad repetition operator"),  # possessive
    (r"\\Z", "invalid escape sequence"),
    (r"\\C", r"\C"),  # RE2 C++ takes it, Go's regexp does not
    ("(?<name>a)", "(?<"),  # Go before 1.22, as Prometheus 2.42
    ("a{1001}", "invalid repetition size"),
    ("(a", "missing )"),
])
def test_python_only_syntax_is_a_400_naming_the_regex(client, pattern, why):
    r = client.get("/api/v1/query", params={"query": f'up{{v=~"{pattern}"}}', "time": T0})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["errorType"] == "bad_data"
    assert why in body["error"] and "bad regex" in body["error"]


def test_matchers_are_anchored_and_dot_stops_at_newline():
    assert Matcher("v", "=~", "api").matches("api")
    assert not Matcher("v", "=~", "api").matches("rapid")
    assert not Matcher("v", "=~", "a.b").matches("a\nb")
    assert Matcher("v", "=~", "(?s)a.b").matches("a\nb")
    assert Matcher("v", "=~", "(?i)API").matches("api")
    assert Matcher("v", "=~", r"\pL+").matches("héllo")
    assert Matcher("v", "=~", "a|").matches("")
    assert Matcher("v", "!~", "web|api").matches("db")
    assert not Matcher("v", "!~", "web|api").matches("web")


def test_capture_groups_by_number_and_name():
    groups = compile_regex("(?P<host>[^:]+)(?::([0-9]+))?").groups("hôte:9100")
    assert groups == {0: "hôte:9100", 1: "hôte", "host": "hôte", 2: "9100"}
    assert compile_regex("(a)|(b)").groups("b") == {0: "b", 1: None, 2: "b"}
    assert compile_regex("a").groups("b") is None


def test_a_bad_regex_names_itself():
    with pytest.raises(BadMatcherError, match=r"bad regex '\(a\|'"):
        compile_regex("(a|")


def test_label_replace_uses_re2_groups(client):
    r = client.get("/api/v1/query", params={
        "query": 'label_replace(up{v="host:9100"}, "port", "${p}/$1", "v", "([^:]+):(?P<p>.*)")',
        "time": T0 + 60})
    assert r.json()["data"]["result"][0]["metric"]["port"] == "9100/host"
