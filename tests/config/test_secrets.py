"""What counts as a secret in a config, and how text is redacted."""

from __future__ import annotations

import logging

from pydantic import SecretStr

from watchkeeper.config import parse_config
from watchkeeper.config.secrets import (
    REDACTED,
    Redactor,
    config_redactor,
    is_secret_path,
    redact_config,
    redact_urls,
)
from watchkeeper.server.logs import SecretFilter


def test_secret_fields_by_name_and_place() -> None:
    secret = [("password",), ("basic_auth", "password"), ("bearer_token",), ("auth_password",),
              ("checks", 0, "parameters", "dsn"), ("web", "auth", "bearer_tokens", 0),
              ("web", "auth", "basic_auth_users", "alice"), ("slack_configs", 0, "api_url"),
              ("receivers", 0, "webhook_configs", 0, "url"), ("apprise_configs", 0, "urls", 1),
              ("parameters", "headers", "Authorization"), ("routing_key",), ("api_key",)]
    plain = [("password_file",), ("bearer_token_file",), ("tls_config", "key_file"),
             ("username",), ("alertmanagers", 0), ("parameters", "url"),
             ("parameters", "headers", "Accept"), ("job_name",)]
    assert all(is_secret_path(p) for p in secret), [p for p in secret if not is_secret_path(p)]
    assert not any(is_secret_path(p) for p in plain), [p for p in plain if is_secret_path(p)]


def test_urls_lose_userinfo_and_query_values_only() -> None:
    assert redact_urls("GET http://u:pw@host:1/p?token=abc&x=1 failed") == \
        f"GET http://{REDACTED}@host:1/p?token={REDACTED}&x={REDACTED} failed"
    assert redact_urls("host=db password=hunter2 user=u") == \
        f"host=db password={REDACTED} user=u"
    assert redact_urls("no url here: a@b.c") == "no url here: a@b.c"


def test_config_tree_redaction() -> None:
    tree = {"a": {"password": "p", "url": "https://x:y@h/?k=v", "plain": "text"},
            "s": SecretStr("hidden"), "receivers": [{"webhook_configs": [
                {"url": "https://hooks.example/services/T/B/tok"}]}]}
    assert redact_config(tree) == {
        "a": {"password": REDACTED, "url": f"https://{REDACTED}@h/?k={REDACTED}",
              "plain": "text"},
        "s": REDACTED, "receivers": [{"webhook_configs": [{"url": REDACTED}]}]}


def test_the_redactor_knows_a_configs_values_and_their_parts() -> None:
    loaded = parse_config("""
scrape_configs:
  - job_name: a
    basic_auth: {username: u, password: scrapepass}
checks:
  - type: http
    name: web
    parameters: {url: "http://127.0.0.1:1/x?token=querytoken"}
alerting:
  receivers:
    - name: r
      webhook_configs: [{url: "https://hooks.example/services/T0/B0/pathtoken"}]
""")
    redactor = config_redactor(loaded)
    line = ("scrapepass querytoken https://hooks.example/services/T0/B0/pathtoken "
            "POST /services/T0/B0/pathtoken")
    assert redactor.text(line) == " ".join([REDACTED] * 3 + ["POST", REDACTED])
    assert redactor.values_only(b"x scrapepass y") == b"x <secret> y"
    assert Redactor(["abc"]).values == []  # too short to replace in any text


def test_the_log_filter_redacts_messages_arguments_and_tracebacks() -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(message)s"))
    secrets = SecretFilter()
    secrets.redactor = Redactor(["topsecret-value"])
    handler.addFilter(secrets)
    logger = logging.getLogger("watchkeeper.test.secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sending to %s", "http://u:pw@h/?t=topsecret-value")
        try:
            raise RuntimeError("failed with topsecret-value")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "topsecret-value" not in text and ":pw@" not in text
    assert "RuntimeError: failed with <secret>" in text
