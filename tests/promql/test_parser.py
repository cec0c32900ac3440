import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.promql import PromQLParseError, ast, parse


@pytest.mark.parametrize(
    "text",
    [
        'sum by (job) (rate(http_requests_total{job=~"a.*"}[5m] offset 1m))',
        "a + on(x) group_left(y) b",
        "foo[5m:1m] @ start()",
        "max_over_time(rate(x[1m])[1h:])",
        "1 > bool 2",
        "x offset -5m",
        'label_replace(up, "a", "$1", "b", "(.*)")',
        "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
        "a:b:c",
    ],
)
def test_canonical_text_parses_back_to_itself(text):
    once = str(parse(text))
    assert str(parse(once)) == once


def test_precedence_and_associativity():
    e = parse("1 + 2 * 3 ^ 2 ^ 2")
    assert isinstance(e, ast.BinaryExpr) and e.op == "+"
    mul = e.rhs
    assert mul.op == "*" and mul.rhs.op == "^" and mul.rhs.rhs.op == "^"  # right assoc
    e = parse("a - b - c")
    assert e.lhs.op == "-"  # left assoc
    e = parse("-a ^ 2")
    assert isinstance(e, ast.UnaryExpr) and e.expr.op == "^"
    e = parse("a or b and c")
    assert e.op == "or" and e.rhs.op == "and"


def test_aggregation_grouping_either_side():
    a, b = parse("sum by (job) (x)"), parse("sum(x) by (job)")
    assert a.grouping == b.grouping == ["job"] and a.by and b.by
    assert parse("topk(3, x) without (a)").without


def test_modifiers_attach_to_selector():
    e = parse("rate(x[5m] offset 1h @ 100)")
    sel = e.args[0].vector
    assert sel.offset_ms == 3_600_000 and sel.at.timestamp_ms == 100_000
    sub = parse("x[1h:5m] offset 2m")
    assert sub.range_ms == 3_600_000 and sub.step_ms == 300_000 and sub.offset_ms == 120_000


@pytest.mark.parametrize(
    "text,fragment,column",
    [
        ("rate(", "expected an expression", 6),
        ("a b", "unexpected ident 'b'", 3),
        ("{}", "at least one non-empty matcher", 1),
        ("sum(x[5m])", "got range vector", 1),
        ("1 > 2", "BOOL modifier", 3),
        ("rate(x)", "expected type range vector", 1),
        ("nosuch(x)", 'unknown function with name "nosuch"', 1),
        ("x[5m] + 1", "binary expression must contain only scalar and instant vector", 7),
        ("abs(x, y)", 'expected 1 argument(s) in call to "abs", got 2', 1),
        ('x{a="1"', 'expected "," or "}"', 8),
        ("x[5x]", "", 3),
        ("1 and 2", 'set operator "and" not allowed', 3),
        ("(x + 1)[5m]", "ranges only allowed for vector selectors", 8),
        ('x{a=~"("}', "bad regex", 6),
        ('"unterminated', "unterminated quoted string", 1),
    ],
)
def test_errors_name_position_and_expectation(text, fragment, column):
    with pytest.raises(PromQLParseError) as info:
        parse(text)
    assert fragment in str(info.value)
    assert info.value.column == column
    assert str(info.value).startswith(f"1:{column}: parse error:")


def test_multiline_errors_report_the_line():
    with pytest.raises(PromQLParseError) as info:
        parse("sum(\n  rate(x[5m])\n  +)")
    assert info.value.line == 3


ALPHABET = st.sampled_from([
    *"abcxyz_:{}[]()=~!\"',.+-*/%^<>@ 0159emshd\n`\\#",
    "sum", "by", "rate", "offset", "on", "group_left", "bool", "[5m]", "[1h:1m]", "and", "or",
    "Inf", "NaN",
])


@settings(max_examples=600, deadline=None)
@given(st.lists(ALPHABET, max_size=30).map("".join))
def test_garbage_gives_a_clean_error(text):
    try:
        expr = parse(text)
    except PromQLParseError as e:
        assert e.line >= 1 and e.column >= 1 and "parse error" in str(e)
    else:
        assert str(parse(str(expr))) == str(expr)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_unicode_gives_a_clean_error(text):
    try:
        parse(text)
    except PromQLParseError:
        pass
