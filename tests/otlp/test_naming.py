"""OTLP metric and attribute names as the OpenTelemetry-to-Prometheus specification maps them."""

from __future__ import annotations

import pytest

from watchkeeper.otlp import label_name, metric_name


@pytest.mark.parametrize(("name", "unit", "kind", "expected"), [
    ("http.server.duration", "s", "histogram", "http_server_duration_seconds"),
    ("http.server.duration", "ms", "histogram", "http_server_duration_milliseconds"),
    ("http.server.requests", "{request}", "counter", "http_server_requests_total"),
    ("requests_total", "", "counter", "requests_total"),          # not repeated
    ("total.requests", "", "counter", "requests_total"),          # moved to the end
    ("process.memory.usage", "By", "gauge", "process_memory_usage_bytes"),
    ("net.io", "By/s", "gauge", "net_io_bytes_per_second"),
    ("latency_seconds", "s", "histogram", "latency_seconds"),     # suffix already there
    ("cpu.utilization", "1", "gauge", "cpu_utilization_ratio"),
    ("cpu.utilization", "1", "counter", "cpu_utilization_total"),
    ("disk.temperature", "Cel", "gauge", "disk_temperature_celsius"),
    ("jobs", "{job}/min", "gauge", "jobs_per_min"),
    ("2xx.responses", "", "gauge", "_2xx_responses"),
    ("queue-depth", "widgets", "gauge", "queue_depth_widgets"),    # unknown units kept
])
def test_metric_names(name: str, unit: str, kind: str, expected: str) -> None:
    assert metric_name(name, unit, kind) == expected


@pytest.mark.parametrize(("key", "expected"), [
    ("http.method", "http_method"), ("2xx", "key_2xx"), ("_private", "key_private"),
    ("__reserved", "__reserved"), ("a/b-c", "a_b_c"), ("", "key_"),
])
def test_label_names(key: str, expected: str) -> None:
    assert label_name(key) == expected
