"""promtool and our loader agree on generated rule files mixing valid and invalid parts."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from peers import require_binary
from watchkeeper.alerting.rules import RuleFileError, load_rule_text

EXPRS = ["up", "up == 0", "rate(x[5m])", "sum by (a) (x)", "up[5m]", "up ==", "foo(", "1",
         '"s"', "x offset 5m", "x @ 100", "histogram_quantile(0.9, rate(b[5m]))",
         '{__name__=~"a.*"}', "{}", "up and on() vector(1)", "topk(3, x)"]
NAMES = ["A", "a:b", "bad-name", "", "x y", "9abc", "ok_name"]
DURATIONS = ["5m", "0s", "1h30m", "5", "-1m", "1.5h", "0", "10ms", "1d", "1y"]
TEMPLATES = ["{{ $value }}", "{{ $labels.x }}", "{{ humanize $value }}", "{{ if }}",
             "{{ end }}", "{{ $nope }}", '{{ printf "%d" 1 }}', "plain", "{{ else }}",
             "{{ range $labels }}{{ . }}{{ end }}", '{{ template "x" }}', "{{ len }}",
             '{{ define "x" }}a{{ end }}', "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "{{-1}}",
             "{{ (humanize 1) }}", "{{ nil }}", "{{ $ }}", "{{- 1 -}}", "{{ 1-}}"]
LABELS = ["severity", "bad-label", "__name__", "_x", "9x"]


def generated(rnd: random.Random) -> str:
    rule: dict = {}
    kind = rnd.choice(["alert", "record", "both", "none"])
    if kind in ("alert", "both"):
        rule["alert"] = rnd.choice(NAMES)
    if kind in ("record", "both"):
        rule["record"] = rnd.choice(NAMES)
    if rnd.random() < 0.9:
        rule["expr"] = rnd.choice(EXPRS)
    for key, chance in (("for", 0.4), ("keep_firing_for", 0.2)):
        if rnd.random() < chance:
            rule[key] = rnd.choice(DURATIONS)
    for key in ("labels", "annotations"):
        if rnd.random() < 0.5:
            rule[key] = {rnd.choice(LABELS): rnd.choice(TEMPLATES)}
    group: dict = {"name": rnd.choice(["g", ""]), "rules": [rule]}
    if rnd.random() < 0.3:
        group["interval"] = rnd.choice(DURATIONS)
    return json.dumps({"groups": [group]})


@pytest.mark.peer
def test_generated_files_get_the_same_verdict(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    rnd = random.Random(20260101)
    disagreements = []
    for i in range(60):
        text = generated(rnd)
        path = tmp_path / f"rules{i}.yml"
        path.write_text(text)
        theirs = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                                text=True, timeout=60)
        try:
            load_rule_text(text)
            ours = 0
        except RuleFileError:
            ours = 1
        if ours != theirs.returncode:
            disagreements.append((text, theirs.stderr[-300:]))
    assert disagreements == []
