"""Config files of any shape load or fail with ConfigError naming file and line: never
another exception, never a traceback."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.config import ConfigError, parse_config

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=True), st.text(max_size=20),
                    st.sampled_from(["15s", "1m30s", "-1s", "0", "10MB", "1e400", "abc",
                                     "127.0.0.1:9797", "127.0.0.1:99999", "http://u:p@h/",
                                     "(.*", "replace", "drop", "always", "redis"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
KEYS = {
    "global": ["scrape_interval", "scrape_timeout", "evaluation_interval", "collect_interval",
               "external_labels"],
    "storage": ["path", "retention", "max_bytes", "sync"],
    "web": ["listen_address", "max_body_bytes", "max_labels_per_series",
            "max_label_value_bytes", "auth", "tls_cert_file"],
}
scrape = st.dictionaries(st.sampled_from(
    ["job_name", "scrape_interval", "scrape_timeout", "metrics_path", "scheme", "params",
     "sample_limit", "body_size_limit", "basic_auth", "bearer_token", "static_configs",
     "relabel_configs", "honor_labels", "tls_config"]), values, max_size=6)
section = {name: st.dictionaries(st.sampled_from(keys), values, max_size=4)
           for name, keys in KEYS.items()}
documents = st.one_of(values, st.fixed_dictionaries({}, optional={
    **section, "scrape_configs": st.lists(scrape, max_size=2),
    "checks": st.lists(st.dictionaries(st.sampled_from(["type", "name", "parameters",
                                                        "interval", "critical"]),
                                       values, max_size=4), max_size=2),
    "collect_host": values, "rule_files": values, "dashboards": values, "alerting": values,
}))


def _loads_or_names_the_place(text: str) -> None:
    try:
        parse_config(text, "wk.yml")
    except ConfigError as e:
        assert str(e).startswith("wk.yml"), str(e)
        assert "Traceback" not in str(e)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_structure(document) -> None:
    _loads_or_names_the_place(yaml.safe_dump(document))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("global:web scrape_configs- job\n\t{}[]'\"#&*!|>"
                                             "%@`1s")), max_size=120))
def test_any_text(text: str) -> None:
    _loads_or_names_the_place(text)
