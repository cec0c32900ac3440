"""`watchkeeper tsdb import/export` show a bar with rate and ETA on a terminal and stay
quiet (or log a line now and then) in a pipe or a log file."""

import io
import sys
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from terminal import run_in_pty

from watchkeeper.cli.main import cli
from watchkeeper.cli.progress import Progress


def _history(path: Path, series: int = 50, points: int = 400) -> Path:
    with path.open("w") as f:
        f.write("# TYPE load gauge\n")
        for s in range(series):
            for i in range(points):
                f.write(f'load{{host="h{s}"}} {i % 7}.5 {1_700_000_000 + i * 15}\n')
        f.write("# EOF\n")
    return path


def test_import_and_export_draw_a_bar_on_a_terminal(tmp_path):
    src = _history(tmp_path / "in.om")
    code, shown, _ = run_in_pty("tsdb", "import", str(src), "--data", str(tmp_path / "d"))
    assert code == 0, shown
    assert "imported 20000 samples of 50 series" in shown
    assert "import " in shown and "━" in shown and "100%" in shown
    assert "MB/s" in shown or "kB/s" in shown  # the rate
    assert "ETA" in shown
    code, shown, exported = run_in_pty("tsdb", "export", "--data", str(tmp_path / "d"),
                                       stdout_pipe=True)
    assert code == 0, shown
    assert "export" in shown and "50/50" in shown and "series/s" in shown
    assert exported.count("\n") == 20000 + 2 and "━" not in exported  # the bar is not data


def test_no_bar_without_a_terminal(tmp_path):
    src = _history(tmp_path / "in.om", series=3, points=10)
    result = CliRunner().invoke(cli, ["tsdb", "import", str(src), "--data", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"imported 30 samples of 3 series in 1 families into {tmp_path / 'd'}")


def test_elsewhere_a_line_per_interval():
    now = [0.0]
    out = io.StringIO()
    with Progress("import x", total=1000, unit="bytes", stream=out, every=10,
                  clock=lambda: now[0]) as p:
        for _ in range(10):
            now[0] += 4
            p.advance(50)
    lines = out.getvalue().splitlines()
    assert lines == ["import x: 150 B/1000 B (15%), 12 B/s, ETA 68s",
                     "import x: 300 B/1000 B (30%), 12 B/s, ETA 56s",
                     "import x: 450 B/1000 B (45%), 12 B/s, ETA 44s"]
