import pytest

from watchkeeper.tsdb.errors import BadMatcherError
from watchkeeper.tsdb.matchers import Matcher, parse_selector


def test_operators():
    assert Matcher("job", "=", "api").matches("api")
    assert not Matcher("job", "=", "api").matches("api2")
    assert Matcher("job", "!=", "api").matches("web")
    assert Matcher("job", "=~", "a.i|web").matches("web")
    assert not Matcher("job", "!~", "a.*").matches("api")


def test_regex_is_fully_anchored():
    assert not Matcher("job", "=~", "api").matches("api-server")
    assert not Matcher("job", "=~", "api").matches("my-api")
    assert Matcher("job", "=~", "api.*").matches("api-server")
    assert Matcher("job", "=~", "a|b").matches("b")  # alternation anchored as a whole
    assert not Matcher("job", "=~", "a|b").matches("ab")


def test_empty_string_semantics():
    assert Matcher("env", "=", "").matches_empty
    assert Matcher("env", "=~", ".*").matches_empty
    assert not Matcher("env", "=~", ".+").matches_empty
    assert Matcher("env", "!=", "prod").matches_empty


def test_bad_regex_and_operator_are_clear_errors():
    with pytest.raises(BadMatcherError, match="bad regex"):
        Matcher("a", "=~", "(")
    with pytest.raises(BadMatcherError, match="operator"):
        Matcher("a", "==", "x")


def test_parse_selector():
    assert parse_selector('up{job="api", env!~"dev|test",x=~\'a"b\'}') == [
        Matcher("__name__", "=", "up"),
        Matcher("job", "=", "api"),
        Matcher("env", "!~", "dev|test"),
        Matcher("x", "=~", 'a"b'),
    ]
    assert parse_selector("node_load1") == [Matcher("__name__", "=", "node_load1")]
    assert parse_selector('{a="x\\ny"}') == [Matcher("a", "=", "x\ny")]


@pytest.mark.parametrize("bad", ["", "{", 'up{job}', 'up{job="a" env="b"}', "up{job=~'('}"])
def test_parse_selector_rejects_bad_text(bad):
    with pytest.raises(BadMatcherError):
        parse_selector(bad)
