"""Alert templates expand as Prometheus expands them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.alerting.templates import Template, TemplateError, render_alert_template

LABELS = {"instance": "host1:9100", "job": "node", "severity": "critical"}


def expand(text: str, value: float = 1234567.0) -> str:
    return render_alert_template(text, "t", LABELS, value, {"cluster": "eu1"})


@pytest.mark.parametrize(("text", "value", "expected"), [
    ("{{ $labels.instance }} down", 1.0, "host1:9100 down"),
    ("{{ $value }}", 1234567.0, "1.234567e+06"),
    ("{{ $value }}", 0.5, "0.5"),
    ("{{ $value }}", 100000.0, "100000"),
    ("{{ $value | humanize }}", 1234567.0, "1.235M"),
    ("{{ $value | humanize }}", 0.00123, "1.23m"),
    ("{{ humanize1024 $value }}", 2048.0, "2ki"),
    ("{{ $value | humanizeDuration }}", 90061.0, "1d 1h 1m 1s"),
    ("{{ $value | humanizeDuration }}", 0.25, "250ms"),
    ("{{ $value | humanizePercentage }}", 0.1234, "12.34%"),
    ("{{ $value | humanizeTimestamp }}", 1700000000.0, "2023-11-14 22:13:20 +0000 UTC"),
    ('{{ printf "%.2f" $value }}', 3.14159, "3.14"),
    ("{{ $externalLabels.cluster }}", 1.0, "eu1"),
    ('{{ if gt $value 100.0 }}big{{ else if gt $value 10.0 }}mid{{ else }}small{{ end }}',
     50.0, "mid"),
    ("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", 1.0,
     "instance=host1:9100;job=node;severity=critical;"),
    ('{{ $labels.instance | reReplaceAll "(.*):.*" "$1" | toUpper }}', 1.0, "HOST1"),
    ('{{ title "disk almost full" }}', 1.0, "Disk Almost Full"),
    ('{{ toLower "ABC" }}', 1.0, "abc"),
    ("a {{- ` b ` -}} c", 1.0, "a b c"),
    ("{{/* a comment */}}x", 1.0, "x"),
    ("{{ $x := 3 }}{{ $x }}", 1.0, "3"),
    ("{{ .Labels.job }} {{ .Value }}", 2.0, "node 2"),
    ("{{ $labels.missing }}", 1.0, ""),
    ('{{ with $labels.job }}job={{ . }}{{ end }}', 1.0, "job=node"),
])
def test_expansion_matches_prometheus(text: str, value: float, expected: str) -> None:
    assert expand(text, value) == expected


@pytest.mark.parametrize("text", [
    "{{ $labels.instance ", "{{ if true }}x", "{{ end }}", '{{ noSuchFunc "a" }}',
    '{{ "unterminated }}', "{{ else }}",
])
def test_bad_templates_raise_a_clear_error(text: str) -> None:
    with pytest.raises(TemplateError):
        Template(text, "t")


def test_undefined_variable_is_an_execution_error() -> None:
    with pytest.raises(TemplateError, match="undefined variable"):
        expand("{{ $nope }}")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="{}$.|()\"` -abc123ifendrangelse:=", max_size=60))
def test_fuzzed_templates_either_render_or_raise_template_error(text: str) -> None:
    try:
        Template(text, "fuzz").render({"Labels": {}, "Value": 1.0},
                                      variables={"$labels": {}, "$value": 1.0})
    except TemplateError:
        pass
