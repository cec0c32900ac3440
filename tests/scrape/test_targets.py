"""Targets from static and file SD configs; a broken SD file keeps its last good targets."""

from __future__ import annotations

import json

from watchkeeper.config import parse_config
from watchkeeper.scrape import FileSD, discover, resolve_targets


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
    assert set(targets) == {"https://h:1/m?module=x", "https://10.0.0.1:80/m?module=x"}
    primary = targets["https://h:1/m?module=x"]
    assert primary.labels == {"job": "web", "team": "t", "instance": "primary"}
    assert targets["https://10.0.0.1:80/m?module=x"].labels["zone"] == "a"
    assert primary.discovered["__param_module"] == "x"
    sd.write_text("{not json")
    again = {t.url for t in resolve_targets(config, file_sd)}
    assert "https://10.0.0.1:80/m?module=x" in again
    assert any("targets.json" in e for e in file_sd.errors.values())


RELABELED = """
global: {scrape_interval: 5s, scrape_timeout: 2s}
scrape_configs:
  - job_name: web
    params: {module: [x]}
    static_configs: [{targets: ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"],
                      labels: {team: t}}]
    relabel_configs:
      - {source_labels: [__address__], regex: "10.0.0.2:80", action: drop}
      - {source_labels: [__address__], regex: "10.0.0.3:80", target_label: __address__,
         replacement: ""}
  - job_name: db
    scrape_interval: 1m30s
    static_configs: [{targets: ["db:9187"], labels: {env: prod}},
                     {targets: ["db:9188"], labels: {env: test}}]
    relabel_configs:
      - {source_labels: [env], regex: prod, action: keep}
"""


def test_relabeling_drops_targets_with_their_discovered_labels() -> None:
    discovery = discover(parse_config(RELABELED).config, FileSD())
    assert sorted(t.url for t in discovery.active) == ["http://10.0.0.1:80/metrics?module=x",
                                                      "http://db:9187/metrics"]
    dropped = {(d.job_name, d.sd_labels["__address__"]): d for d in discovery.dropped}
    # drop, an emptied __address__, and keep that does not match: all three are dropped
    assert set(dropped) == {("web", "10.0.0.2:80"), ("web", "10.0.0.3:80"),
                            ("db", "db:9188")}
    # the labels before relabeling, exactly as Prometheus shows them
    assert dropped["web", "10.0.0.2:80"].to_api() == {"discoveredLabels": {
        "__address__": "10.0.0.2:80", "__metrics_path__": "/metrics",
        "__param_module": "x", "__scheme__": "http", "__scrape_interval__": "5s",
        "__scrape_timeout__": "2s", "job": "web", "team": "t"}}
    labels = dropped["web", "10.0.0.2:80"].to_api()["discoveredLabels"]
    assert list(labels) == sorted(labels)  # in name order, as Prometheus writes them
    assert dropped["db", "db:9188"].sd_labels["__scrape_interval__"] == "1m30s"
    assert dropped["db", "db:9188"].sd_labels["env"] == "test"


def test_active_targets_keep_their_labels_from_before_relabeling() -> None:
    [target] = [t for t in resolve_targets(parse_config(RELABELED).config, FileSD())
                if t.job.job_name == "web"]
    assert target.labels == {"job": "web", "team": "t", "instance": "10.0.0.1:80"}
    assert target.sd_labels["__address__"] == "10.0.0.1:80"
    assert target.sd_labels["__scrape_interval__"] == "5s"


def test_relabel_configs_set_a_targets_interval_timeout_and_params_as_in_prometheus() -> None:
    config = parse_config("""
global: {scrape_interval: 10s, scrape_timeout: 5s}
scrape_configs:
  - job_name: probe
    metrics_path: /probe
    params: {module: [http_2xx, extra], target: [a]}
    static_configs: [{targets: ["fast:1", "slow:1", "bad:1"]}]
    relabel_configs:
      - {source_labels: [__address__], regex: "fast:1", target_label: __scrape_interval__,
         replacement: 2s}
      - {source_labels: [__address__], regex: "fast:1", target_label: __scrape_timeout__,
         replacement: 1s}
      - {source_labels: [__address__], regex: "slow:1", target_label: __param_module,
         replacement: tcp connect}
      - {source_labels: [__address__], regex: "bad:1", target_label: __scrape_timeout__,
         replacement: 1m}
""").config
    targets = {t.discovered["__address__"]: t for t in resolve_targets(config, FileSD())}
    # a timeout above the interval is refused for that target only
    assert set(targets) == {"fast:1", "slow:1"}
    assert (targets["fast:1"].interval, targets["fast:1"].timeout) == (2.0, 1.0)
    assert (targets["slow:1"].interval, targets["slow:1"].timeout) == (10.0, 5.0)
    # the label replaces the first value of the job's param; the other values stay
    assert targets["slow:1"].url == ("http://slow:1/probe?module=tcp+connect&module=extra"
                                     "&target=a")
    assert targets["fast:1"].url == "http://fast:1/probe?module=http_2xx&module=extra&target=a"
