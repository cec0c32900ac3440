"""Rule files of any shape load or fail with RuleFileError naming the file (and the line
where the problem has one): never another exception."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.alerting.rules import RuleFileError, load_rule_text

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=True), st.text(max_size=30),
                    st.sampled_from(["5m", "1h30m", "0s", "-1m", "10y", "up", "up > 1",
                                     "rate(x[5m])", "{{ $value }}", "sum(", "1e400"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
rule = st.dictionaries(
    st.sampled_from(["alert", "record", "expr", "for", "keep_firing_for", "labels",
                     "annotations", "anomaly", "extra"]), values, max_size=6)
group = st.dictionaries(
    st.sampled_from(["name", "interval", "rules", "limit", "query_offset", "extra"]),
    st.one_of(values, st.lists(rule, max_size=3)), max_size=5)
documents = st.one_of(values, st.fixed_dictionaries({"groups": st.lists(group, max_size=3)}))


def _loads_or_names_the_file(text: str) -> None:
    try:
        load_rule_text(text, "rules.yml")
    except RuleFileError as e:
        assert e.problems and str(e).startswith("rules.yml: "), str(e)


@settings(max_examples=200, deadline=None)
@given(documents)
def test_any_structure(document) -> None:
    _loads_or_names_the_file(yaml.safe_dump(document))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("groups:- name rule exprt{}[]'\"\n\t#&*!|>%@`1"
                                             )), max_size=120))
def test_any_text(text: str) -> None:
    _loads_or_names_the_file(text)
