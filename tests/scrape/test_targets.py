"""Targets from static and file SD configs; a broken SD file keeps its last good targets."""

from __future__ import annotations

import json

from watchkeeper.config import parse_config
from watchkeeper.scrape import FileSD, resolve_targets


def test_static_and_file_sd_targets_with_labels(tmp_path) -> None:
    sd = tmp_path / "targets.json"
    sd.write_text(json.dumps([{"targets": ["10.0.0.1:80"], "labels": {"zone": "a"}}]))
    config = parse_config(f"""
scrape_configs:
  - job_name: web
    scheme: https
    metrics_path: /m
    params: {{module: [x]}}
    static_configs: [{{targets: ["h:1"], labels: {{team: t}}}}]
    file_sd_configs: [{{files: ["{tmp_path}/*.json"]}}]
    relabel_configs:
      - source_labels: [__address__]
        regex: "h:1"
        target_label: instance
        replacement: primary
""").config
    file_sd = FileSD()
    targets = {t.url: t for t in resolve_targets(config, file_sd)}
    assert set(targets) == {"https://h:1/m", "https://10.0.0.1:80/m"}
    assert targets["https://h:1/m"].labels == {"job": "web", "team": "t", "instance": "primary"}
    assert targets["https://10.0.0.1:80/m"].labels["zone"] == "a"
    assert targets["https://h:1/m"].discovered["__param_module"] == "x"
    sd.write_text("{not json")
    again = {t.url for t in resolve_targets(config, file_sd)}
    assert "https://10.0.0.1:80/m" in again
    assert any("targets.json" in e for e in file_sd.errors.values())
