"""``watchkeeper analyze``: the analysis room's functions on files, for scripts and benchmarks."""

from __future__ import annotations

import csv
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click


@click.group()
def analyze() -> None:
    """Anomaly scores and forecasts computed from data files."""


def score_csv(src: Path, dst: Path) -> int:
    """Write ``timestamp,value,anomaly_score`` for a ``timestamp,value`` CSV; returns rows.

    A value that is not a number keeps its row (score 0) so the output lines up with the
    input row for row."""
    from watchkeeper.analysis.anomaly import AnomalyDetector

    det = AnomalyDetector()
    with open(src, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise click.ClickException(f"{src}: empty file, expected a header timestamp,value")
        cols = [c.strip().lower() for c in header]
        if "timestamp" not in cols or "value" not in cols:
            raise click.ClickException(
                f"{src}: header {','.join(header)!r} has no timestamp and value columns")
        t_col, v_col = cols.index("timestamp"), cols.index("value")
        dst.parent.mkdir(parents=True, exist_ok=True)
        n = 0
        with open(dst, "w", newline="", encoding="utf-8") as out:
            w = csv.writer(out)
            w.writerow(["timestamp", "value", "anomaly_score"])
            for lineno, row in enumerate(reader, start=2):
                if not row:
                    continue
                try:
                    value = float(row[v_col])
                except (ValueError, IndexError):
                    raise click.ClickException(
                        f"{src}:{lineno}: value {row[v_col] if len(row) > v_col else ''!r} "
                        "is not a number") from None
                w.writerow([row[t_col], row[v_col], f"{det.update(value):.6f}"])
                n += 1
    return n


def _score_pair(pair: tuple[str, str]) -> int:
    return score_csv(Path(pair[0]), Path(pair[1]))


@analyze.command()
@click.option("--input-dir", required=True, type=click.Path(exists=True, file_okay=False,
                                                                path_type=Path),
              help="Folder of timestamp,value CSV files (searched recursively).")
@click.option("--output-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where to write each file's scores, at the same relative path.")
@click.option("--jobs", "-j", type=int, default=0,
              help="Files scored in parallel (default: one per CPU).")
def anomalies(input_dir: Path, output_dir: Path, jobs: int) -> None:
    """Score every point of every CSV under INPUT_DIR as the server would, streaming:
    each score uses only the rows before it. Writes timestamp,value,anomaly_score."""
    files = sorted(p for p in input_dir.rglob("*.csv") if p.is_file())
    if not files:
        raise click.ClickException(f"no .csv files under {input_dir}")
    pairs = [(str(p), str(output_dir / p.relative_to(input_dir))) for p in files]
    workers = jobs or os.cpu_count() or 1
    if workers == 1 or len(pairs) == 1:
        rows = sum(map(_score_pair, pairs))
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(pairs))) as pool:
            rows = sum(pool.map(_score_pair, pairs))
    click.echo(f"scored {rows} rows in {len(files)} files into {output_dir}")
