"""promtool as a judge of the parser: it accepts what we render, reads what we read, and
rejects what we reject."""

from __future__ import annotations

import subprocess

import pytest

from peers import require_binary
from watchkeeper import ParseError, text_string_to_metric_families
from watchkeeper.exposition import generate_latest, generate_openmetrics
from watchkeeper.exposition.parse import openmetrics_string_to_metric_families
from watchkeeper.metrics import (
    CollectorRegistry,
    Counter,
    CounterMetricFamily,
    Enum,
    Exemplar,
    Gauge,
    GaugeMetricFamily,
    Histogram,
    HistogramMetricFamily,
    Info,
    Summary,
)

HOSTILE = ['back\\slash', 'quo"te', "new\nline", "ünïcödé 漢字", "", "{}=,# EOF", "\\n"]


def _every_type_registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    c = Counter("judge_requests", "Requests \\ with\nnewline", ["path"], registry=reg)
    g = Gauge("judge_temperature", "T", ["room"], registry=reg)
    h = Histogram("judge_latency_seconds", "Latency", ["path"], registry=reg)
    s = Summary("judge_payload_bytes", "Payload", ["path"], registry=reg)
    for i, v in enumerate(HOSTILE):
        c.labels(v).inc(i + 1)
        g.labels(v).set(-1.5 * i)
        h.labels(v).observe(0.2 * i)
        s.labels(v).observe(100 + i)
    Info("judge_build", "Build", registry=reg).info({"version": 'v"1\\2\n'})
    Enum("judge_phase", "Phase", states=["a", "b"], registry=reg).state("b")
    return reg


def _check_metrics(promtool: str, text: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          timeout=60, check=False)


def test_promtool_accepts_every_type_and_we_read_the_hostile_labels_back():
    promtool = require_binary("promtool")
    text = generate_latest(_every_type_registry())
    result = _check_metrics(promtool, text)
    # Exit 0 is clean, 3 means lint advice only; 1 means the text did not parse.
    assert result.returncode in (0, 3), result.stderr.decode()
    fams = {f.name: f for f in text_string_to_metric_families(text.decode())}
    assert {s.labels["path"] for s in fams["judge_requests"].samples} == set(HOSTILE)
    assert {s.labels["path"]: s.value for s in fams["judge_requests"].samples} == {
        v: i + 1.0 for i, v in enumerate(HOSTILE)}
    # Text 0.0.4 has no info type: the info is a gauge named with its _info suffix.
    assert fams["judge_build_info"].samples[0].labels == {"version": 'v"1\\2\n'}
    assert fams["judge_latency_seconds"].type == "histogram"
    assert fams["judge_payload_bytes"].type == "summary"


# Inputs on which the Prometheus text parsers agree; promtool's verdict must be ours.
VERDICTS = [
    "# HELP a A.\n# TYPE a gauge\na 1\n",
    '# HELP a A.\n# TYPE a gauge\na{x="1",} 1\n',
    "# HELP a A.\n# TYPE a gauge\na 1 -5\n",
    "# HELP a A.\n# TYPE a gauge\na Inf\na{b=\"2\"} NaN 1\n",
    "# HELP a A.\n# TYPE a gauge\na 1_0\n",
    "# HELP a A.\n# TYPE a gauge\na -nan\n",
    "# HELP a A.\n# TYPE a gauge\na 1 2.5\n",
    "# HELP a A.\n# TYPE a bogus\na 1\n",
    "# HELP a A.\n# TYPE a gauge\na 0x10\n",
    '# HELP a A.\n# TYPE a gauge\na{x="1",x="2"} 1\n',
    "# HELP a A.\n# TYPE a gauge\na 1\r\n",
    "# HELP a A.\n# TYPE a gauge\na 1e999\n",
    '# HELP a A.\n# TYPE a gauge\na{x="1} 1\n',
    "# HELP a A.\n# TYPE a gauge\na{1x=\"1\"} 1\n",
    "# HELP a A.\n# TYPE a gauge\n1a 1\n",
    "# HELP a A.\n# TYPE a gauge\na\n",
]


@pytest.mark.parametrize("text", VERDICTS)
def test_promtool_and_our_parser_agree_on_what_parses(text):
    promtool = require_binary("promtool")
    theirs = _check_metrics(promtool, text.encode()).returncode in (0, 3)
    try:
        list(text_string_to_metric_families(text))
        ours = True
    except ParseError:
        ours = False
    assert ours == theirs, text


class _Timestamped:
    """Families with timestamps, as ``promtool tsdb create-blocks-from openmetrics`` needs."""

    def collect(self):
        c = CounterMetricFamily("judge_jobs", "Jobs", labels=["queue"])
        for i, v in enumerate(HOSTILE):
            c.add_metric([v], 10 + i, timestamp=1700000000.0 + i,
                         exemplar=Exemplar({"trace_id": f"t{i}"}, 0.5) if i == 0 else None)
        yield c
        g = GaugeMetricFamily("judge_level", "Level", labels=["tank"])
        g.add_metric(["a"], -2.25, timestamp=1700000000.5)
        g.add_metric(["b"], 1e-9, timestamp=1700000001.25)
        yield g
        h = HistogramMetricFamily("judge_wait_seconds", "Wait", labels=["q"])
        h.add_metric(["x"], [("0.1", 1), ("1.0", 4), ("+Inf", 6)], 3.5, timestamp=1700000002.0)
        yield h


def _dump_line_to_text(line: str) -> str:
    """``{__name__="x", a="b"} 1 1700000000000`` as the text line ``x{a="b"} 1 1700000000000``."""
    assert line.startswith('{__name__="'), line
    rest = line[len('{__name__="'):]
    name, _, rest = rest.partition('"')
    return name + ("{" + rest[2:] if rest.startswith(", ") else rest[1:])


def _stored_labels(labels: dict[str, str]) -> tuple:
    """Labels as Prometheus stores them: an empty value is the same as no label."""
    return tuple(sorted((k, v) for k, v in labels.items() if v))


def test_promtool_imports_our_openmetrics_and_dumps_what_we_parse(tmp_path):
    promtool = require_binary("promtool")
    reg = CollectorRegistry()
    reg.register(_Timestamped())
    text = generate_openmetrics(reg).decode()
    ours = {
        (s.name, _stored_labels(s.labels), s.value, round(s.timestamp * 1000))
        for fam in openmetrics_string_to_metric_families(text) for s in fam.samples
    }
    source = tmp_path / "input.om"
    source.write_text(text, encoding="utf-8")
    blocks = tmp_path / "blocks"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source),
                    str(blocks)], check=True, capture_output=True, timeout=120)
    (blocks / "wal").mkdir(exist_ok=True)  # dump opens the directory as a whole TSDB
    dump = subprocess.run([promtool, "tsdb", "dump", str(blocks)], check=True,
                          capture_output=True, timeout=120).stdout.decode()
    as_text = "".join(_dump_line_to_text(line) + "\n" for line in dump.splitlines() if line)
    theirs = {
        (s.name, _stored_labels(s.labels), s.value, round(s.timestamp * 1000))
        for fam in text_string_to_metric_families(as_text) for s in fam.samples
    }
    assert len(ours) == len(HOSTILE) + 2 + 5
    assert theirs == ours
