import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.health.config import ConfigError, build_checks, load_config, parse_config


def write(tmp_path, text):
    path = tmp_path / "health.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_valid_config_builds_checks_with_their_settings(tmp_path):
    path = write(tmp_path, """
        checks:
          - type: disk
            parameters: {path: /, degraded_used: 0.8}
          - type: tcp
            name: db-port
            parameters:
              host: 127.0.0.1
              port: 5432
            timeout: 2
            critical: false
            interval: 10
        """)
    specs = load_config(path)
    disk, tcp = build_checks(specs)
    assert disk.name == "disk" and disk.degraded_used == 0.8
    assert (tcp.name, tcp.host, tcp.port) == ("db-port", "127.0.0.1", 5432)
    assert (tcp.timeout, tcp.critical, tcp.interval) == (2.0, False, 10.0)
    assert specs[1].line == 5  # the text starts with a blank line


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("checks:\n  - type: disk\n    parameters:\n      path: 3\n", 4,
         "parameter 'path': expected a string, got an integer 3"),
        ("checks:\n  - type: tcp\n    parameters: {host: x, prot: 1}\n", 3,
         "unknown parameter 'prot' for a tcp check; did you mean 'port'? "
         "(known: degraded_latency, host, port)"),
        ("checks:\n  - type: tcp\n    parameters: {host: x}\n", 3,
         "missing required parameter 'port'"),
        ("checks:\n  - type: dsik\n", 2, "unknown check type 'dsik'; did you mean 'disk'?"),
        ("checks:\n  - type: disk\n    timeuot: 3\n", 3, "did you mean 'timeout'?"),
        ("checks:\n  - type: postgres\n    parameters: {check_conections: true}\n", 3,
         "unknown parameter 'check_conections' for a postgres check; "
         "did you mean 'check_connections'?"),
        ("checks:\n  - name: x\n", 2, "missing 'type'"),
        ("checks:\n  - type: disk\n    timeout: -1\n", 3, "timeout must be a positive number"),
        ("checks:\n  - type: disk\n    critical: maybe\n", 3, "critical must be true or false"),
        ("checks:\n  - type: disk\n    path: /\n", 3, "unknown key 'path'"),
        ("checks:\n  - type: disk\n  - type: disk\n", 3, "duplicate check name 'disk'"),
        ("checks:\n  - type: tcp\n    parameters: {host: x, port: 70000}\n", 2,
         "port must be in 1..65535"),
        ("checks: {type: disk}\n", 1, "'checks' must be a list"),
        ("checks:\n  - type: disk\n   bad: [\n", 3, "invalid YAML"),
        ("other: 1\n", 1, "no 'checks:' list"),
    ],
)
def test_bad_configs_name_the_file_the_line_and_the_problem(tmp_path, text, line, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    error = info.value
    assert error.file == str(path)
    assert error.line == line, str(error)
    assert fragment in str(error)
    assert str(error).startswith(f"{path}:{line}")


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config"):
        load_config(tmp_path / "nope.yaml")


def test_an_empty_config_says_so():
    with pytest.raises(ConfigError, match="empty"):
        parse_config("")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_specs_or_a_config_error(text):
    try:
        parse_config(text)
    except ConfigError as e:
        assert str(e).startswith("<config>")


scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000),
                    st.floats(allow_nan=False), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)
entries = st.fixed_dictionaries(
    {"type": st.sampled_from(["disk", "tcp", "http", "dns", "command", "nope", 3])},
    optional={
        "name": scalars,
        "parameters": st.dictionaries(
            st.sampled_from(["path", "host", "port", "url", "command", "hostname", "x",
                             "expected_status", "degraded_used"]), values, max_size=4),
        "timeout": scalars, "critical": scalars, "interval": scalars,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(entries, max_size=4))
def test_any_structure_gives_checks_or_a_config_error_with_a_line(checks):
    text = yaml.safe_dump({"checks": checks})
    try:
        build_checks(parse_config(text))
    except ConfigError as e:
        assert e.line is not None, str(e)
