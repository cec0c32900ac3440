"""``remote_write:`` as prometheus.yml writes it; its secrets never shown."""

import json

import pytest

from watchkeeper.config import ConfigError
from watchkeeper.config.loader import parse_config
from watchkeeper.config.secrets import config_redactor, redact_config

TEXT = """
remote_write:
  - url: http://127.0.0.1:8428/api/v1/write?token=querysecret123
    name: vm
    remote_timeout: 10s
    headers: {X-Scope-OrgID: tenant-a, X-Api-Token: headersecret123}
    basic_auth: {username: alice, password: basicsecret123}
    write_relabel_configs:
      - {source_labels: [__name__], regex: "go_.*", action: drop}
    queue_config: {capacity: 5000, max_samples_per_send: 500, batch_send_deadline: 1s,
                   min_backoff: 50ms, max_backoff: 10s, retry_on_http_429: true}
  - url: https://mimir.example/api/v1/push
    authorization: {credentials: bearersecret123}
"""


def test_parses_like_prometheus():
    config = parse_config(TEXT).config
    vm, mimir = config.remote_write
    assert vm.name == "vm" and vm.remote_timeout == 10
    assert vm.queue_config.max_samples_per_send == 500
    assert vm.queue_config.min_backoff == 0.05 and vm.queue_config.retry_on_http_429
    assert vm.write_relabel_configs[0].action == "drop"
    assert mimir.authorization.type == "Bearer"


def test_secrets_are_hidden_in_the_config_document_and_logs():
    loaded = parse_config(TEXT)
    shown = json.dumps(redact_config(loaded.config.model_dump(mode="python", by_alias=True)))
    for secret in ("querysecret123", "headersecret123", "basicsecret123", "bearersecret123"):
        assert secret not in shown
    assert "tenant-a" in shown
    line = config_redactor(loaded).text("sending with basicsecret123 and bearersecret123")
    assert "secret123" not in line


@pytest.mark.parametrize("bad", [
    "remote_write: [{url: ftp://x}]",
    "remote_write: [{url: 'http://a', name: a}, {url: 'http://b', name: a}]",
    "remote_write: [{url: 'http://a', queue_config: {max_samples_per_send: 0}}]",
    "remote_write: [{url: 'http://a', basic_auth: {username: u}, "
    "authorization: {credentials: c}}]",
    "remote_write: [{url: 'http://a', queue_config: {min_shards: 4, max_shards: 2}}]",
    "remote_write: [{url: 'http://a', metadata_config: {send_interval: 0s}}]",
    "storage: {mode: agent}",  # agent mode forwards: it needs somewhere to forward to
])
def test_bad_entries_are_refused(bad):
    with pytest.raises(ConfigError):
        parse_config(bad)


def test_tls_metadata_shards_and_agent_mode_parse_like_prometheus():
    config = parse_config("""
storage: {mode: agent}
remote_write:
  - url: https://vm.example/api/v1/write
    tls_config: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, server_name: vm}
    queue_config: {min_shards: 2, max_shards: 8}
    metadata_config: {send: false, send_interval: 30s, max_samples_per_send: 100}
""").config
    rw = config.remote_write[0]
    assert config.storage.mode == "agent"
    assert rw.tls_config.server_name == "vm" and rw.tls_config.ca_file == "ca.pem"
    assert (rw.queue_config.min_shards, rw.queue_config.max_shards) == (2, 8)
    assert not rw.metadata_config.send and rw.metadata_config.send_interval == 30
    default = parse_config("remote_write: [{url: 'http://a'}]").config
    assert default.storage.mode == "tsdb"
    assert default.remote_write[0].metadata_config.send  # Prometheus sends it by default
