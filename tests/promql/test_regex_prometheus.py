"""RE2 against Python's re, where they differ, answered by us and by a real Prometheus.

The same series (label values with case, newlines, non-ASCII letters, dots, pipes,
backslashes) go into both engines; each regex runs as a =~ and a !~ matcher and in
label_replace. Where Prometheus refuses a regex we refuse it too, with its errorType; where
it answers, the same series (and the same rewritten labels) come back.
"""

from __future__ import annotations

import io
import subprocess

import pytest
from starlette.testclient import TestClient

from peers import require_binary
from prometheus_runner import PrometheusError, PrometheusRunner
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.http_api import create_app
from watchkeeper.tsdb.exchange import import_openmetrics
from watchkeeper.tsdb.store import Store

BASE_S = 1_700_000_000
AT = BASE_S + 60
VALUES = ["api", "API", "Api-1", "web-1", "web-12", "a\nb", "héllo", "Ωmega",
          "日本", "x.y", "xzy", "a b", "aaa", "ab", "abab", "foo_bar", "1234", "\\", "tab\tx",
          "a|b", "[x]", "z", "a{,2}", "a{2}", "aa", "café", "İ", "ǅ", "K"]  # Kelvin sign last

REGEXES = [
    # Python-only syntax: refused by RE2/Go
    r"(a)\1", r"(?=a).*", r"(?!a).*", r"(?<=a)b", r"(?<!a)b", r"a++", r"a*+", r"(?>a)",
    r"(?#note)api", r"(?x) a p i", r".*\Z", r"\u65e5.*", r"(?P=n)", r"(?P<n>a)(?P=n)",
    r"\N{DIGIT ONE}.*", r"\e", r"\cA",
    # syntax RE2 takes, Go's regexp (Prometheus's) does not, or the other way round
    r"\C", r"(?<n>a)b", r"(?P<n>a)b", r"\z", r".*\z", r"\Aapi", r"(?U)a+", r"(?U)a+?",
    r"\Qx.y\E", r"\Q.*",
    # flags
    r"(?i)api", r"(?i:API)|web-1", r"(?i)k", r"(?i)i", r"(?i)ǆ", r"(?s)a.b", r"a.b", r"(?m)a$",
    r"(?m)^a.b$", r"(?-s)a.b", r"(?is)A.B",
    # classes
    r"\pL+", r"\p{Greek}.*", r"\PL+", r"\p{Han}+", r"\p{Lu}", r"\p{L}\p{Ll}+", r"\pN+",
    r"[[:alpha:]]+", r"[[:^digit:]]+", r"[[:word:]]+", r"\d+", r"\w+", r"\W", r"\s", r"a\sb",
    r"[\d]+", r"[^\n]+", r"\x{65e5}\x{672c}", r"\x61+", r"[\p{Greek}a-z]+", r"\p{Foo}",
    # dots, empties and alternations
    r".", r".+", r".*", r"..", r"api|", r"|api", r"(|a)+b", r"()", r"(?:)", r"a||b", r"a|b",
    r"a\|b", r"x\.y", r"x.y", r"\\", r"\[x\]", r"[]x[]+", r"[^]a]+",
    # repetition
    r"a{2}", r"a{,2}", r"a{2,}", r"a{1001}", r"a{2,1}", r"a**", r"*a", r"a{1000}",
    r"(a{2}){2}", r"a{1,2}?b?",
    # anchors and word boundaries inside Prometheus's ^(?:...)$
    r"^api$", r"api\b", r"\bapi", r"\Bpi", r"a$|web-1", r"(", r")", r"a)|(b", r"[a",
]
REPLACEMENTS = ["[$1]", "${1}x", "$1x", "$$1", "$0", "${0}-${2}", "$name"]


def _om_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _data() -> str:
    lines = ["# TYPE re_probe gauge"]
    for i, value in enumerate(VALUES):
        for k in range(6):
            lines.append(f're_probe{{id="{i}",v="{_om_escape(value)}"}} {i} {BASE_S + 15 * k}')
    for k in range(6):
        lines.append(f're_probe{{id="none"}} -1 {BASE_S + 15 * k}')
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    promtool = require_binary("promtool")
    require_binary("prometheus")
    root = tmp_path_factory.mktemp("re2")
    text = _data()
    (root / "data.om").write_text(text)
    blocks = root / "blocks"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics",
                    str(root / "data.om"), str(blocks)], check=True, capture_output=True,
                   timeout=120)
    store = Store.open(root / "ours", background=False)
    import_openmetrics(store, io.StringIO(text))
    prom = PrometheusRunner(root / "prom", storage_path=blocks,
                            config=PrometheusRunner.scrape_config([], "1m"),
                            extra_args=["--storage.tsdb.retention.time=100y"])
    prom.start()
    try:
        with TestClient(create_app(store, Engine(store))) as client:
            yield prom, client
    finally:
        prom.stop()
        store.close()


def _raw(regex: str) -> str:
    assert "`" not in regex
    return f"`{regex}`"


def _ask(engines, expr: str) -> tuple[object, object]:
    """(Prometheus's answer, ours): a sorted list of label sets, or the errorType."""
    prom, client = engines
    try:
        theirs: object = sorted(sorted(s["metric"].items()) for s in prom.query(expr, at=AT))
    except PrometheusError as e:
        theirs = ("error", str(e))
    r = client.get("/api/v1/query", params={"query": expr, "time": AT})
    assert r.status_code < 500, (expr, r.text)
    body = r.json()
    if body["status"] == "success":
        ours: object = sorted(sorted(s["metric"].items()) for s in body["data"]["result"])
    else:
        ours = ("error", body["errorType"], body["error"])
    return theirs, ours


def _same(expr: str, theirs: object, ours: object) -> None:
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple), (expr, theirs, ours)
        return
    assert ours == theirs, expr


@pytest.mark.parametrize("regex", REGEXES)
@pytest.mark.parametrize("op", ["=~", "!~"])
def test_matchers_answer_as_prometheus(engines, regex, op):
    expr = f"re_probe{{v{op}{_raw(regex)}, id=~`.+`}}"
    theirs, ours = _ask(engines, expr)
    _same(expr, theirs, ours)
    if isinstance(ours, tuple):
        assert ours[1] == "bad_data" and "bad regex" in ours[2], ours


@pytest.mark.parametrize("regex", REGEXES)
def test_label_replace_answers_as_prometheus(engines, regex):
    for replacement in REPLACEMENTS:
        expr = f"label_replace(re_probe, `out`, `{replacement}`, `v`, {_raw(regex)})"
        theirs, ours = _ask(engines, expr)
        _same(expr, theirs, ours)
        if isinstance(ours, tuple):  # Prometheus reports it at evaluation: 422 execution
            assert ours[1] == "execution" and "label_replace" in ours[2], ours
            break
