"""Running a rule pack through ``promtool test rules`` with cases written in Python."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from peers import require_binary


def promtool_test_pack(pack: Path, cases: list[dict[str, Any]], workdir: Path) -> None:
    """Assert that ``promtool test rules`` passes ``cases`` on ``pack``. Annotations are
    left out: the cases check which series fire, by their labels."""
    rules = yaml.safe_load(pack.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    bare = workdir / pack.name
    bare.write_text(yaml.safe_dump(rules))
    spec = workdir / f"{pack.stem}_test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(bare)], "evaluation_interval": "1m",
                                    "tests": cases}))
    result = subprocess.run([require_binary("promtool"), "test", "rules", str(spec)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
