"""``watchkeeper analyze``: the analysis room's functions on files, for scripts and benchmarks."""

from __future__ import annotations

import csv
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

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
                score = det.update(value, _seconds(row[t_col]))
                w.writerow([row[t_col], row[v_col], f"{score:.6f}"])
                n += 1
    return n


def _seconds(stamp: str) -> float | None:
    """A row's time for the detector's time-of-day feature: epoch seconds or ISO 8601;
    None (the feature stays off) for anything else."""
    try:
        return float(stamp)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(stamp.strip()).timestamp()
    except ValueError:
        return None


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


def _open_engine(data: Path):  # type: ignore[no-untyped-def]
    from watchkeeper.promql.engine import Engine
    from watchkeeper.tsdb.store import Store

    if not data.exists():
        raise click.ClickException(f"no store at {data}")
    store = Store.open(data, background=False)
    return store, Engine(store)


def _moment(text: str) -> int:
    import time

    from .query import _time_ms

    at = _time_ms(text, int(time.time() * 1000))
    assert at is not None
    return at


def _duration(text: str) -> int:
    from watchkeeper.promql.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _show(rows: list[dict], as_json: bool, columns: list[tuple[str, str]]) -> None:
    import json

    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None)
    for title, _ in columns:
        table.add_column(title)
    for row in rows:
        table.add_row(*[fmt(row) for _, fmt in columns])  # type: ignore[operator]
    Console().print(table)


def _what(row: dict[str, Any]) -> str:
    """A capacity row's series: the mountpoint, its labels, or the host itself."""
    labels = {k: v for k, v in row["labels"].items() if k != "resource"}
    return labels.get("mountpoint") or (_series(labels) if labels else "this host")


def _series(labels: dict[str, str]) -> str:
    from watchkeeper.mcp.shapes import series_name

    return series_name(labels)


@analyze.command()
@click.option("--at", "at", required=True, help="The moment: unix seconds, RFC 3339, -1h.")
@click.option("--window", default="1h", show_default=True, help="The window after the moment.")
@click.option("--match", "selector", default='{__name__=~".+"}', show_default=True,
              help="The series to rank (a PromQL selector).")
@click.option("--top", default=20, show_default=True)
@click.option("--data", type=click.Path(path_type=Path), default=Path("watchkeeper-data"),
              show_default=True, help="The embedded store's folder.")
@click.option("--json", "as_json", is_flag=True)
def changes(at: str, window: str, selector: str, top: int, data: Path, as_json: bool) -> None:
    """Which series changed level or spread at a moment, largest change first, and the
    events around it (alerts, health transitions, restarts, config reloads, new errors)."""
    import json

    from watchkeeper.analysis.events import events_between
    from watchkeeper.analysis.views import what_changed
    from watchkeeper.promql.errors import PromQLError

    store, engine = _open_engine(data)
    try:
        moment, span = _moment(at), _duration(window)
        rows = what_changed(engine, moment, span, selector, top=top)
        events = events_between(engine, moment - span, moment + span)
    except (PromQLError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"changes": rows, "events": events}, indent=2, default=str))
        return
    _show(rows, False, [
        ("series", lambda r: _series(r["labels"])), ("score", lambda r: f"{r['score']:.1f}"),
        ("before", lambda r: f"{r['before']:.4g}"), ("after", lambda r: f"{r['after']:.4g}"),
        ("spread x", lambda r: f"{r['spread_ratio']:.2f}"),
        ("changed at", lambda r: _iso(r["changed_at"]))])
    if events:
        click.echo("\nevents in the window:")
        _show(events, False, [("time", lambda e: _iso(e["time"])), ("kind", lambda e: e["kind"]),
                              ("what", lambda e: e["what"])])


@analyze.command()
@click.option("--data", type=click.Path(path_type=Path), default=Path("watchkeeper-data"),
              show_default=True, help="The embedded store's folder.")
@click.option("--lookback", default="7d", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def capacity(data: Path, lookback: str, as_json: bool) -> None:
    """Time until disks, inodes, memory, file descriptors and pools run out, robust to log
    rotation, soonest first."""
    import time

    from watchkeeper.analysis.views import capacity as capacity_of

    store, engine = _open_engine(data)
    try:
        rows = capacity_of(engine, int(time.time() * 1000), _duration(lookback))
    finally:
        store.close()
    _show(rows, as_json, [
        ("resource", lambda r: r["resource"]),
        ("what", _what),
        ("used", lambda r: f"{100 * (r['used_ratio'] or 0):.0f} %"),
        ("growth/day", lambda r: _bytes(r["growth_per_day"]) if r["unit"] == "bytes"
         else f"{r['growth_per_day']:.4g}"),
        ("full in", lambda r: "not growing" if r["seconds"] is None else
         f"{_days(r['seconds'])} (80 %: {_days(r['lower'])} to {_days(r['upper'])})")])


@analyze.command()
@click.option("--data", type=click.Path(path_type=Path), default=Path("watchkeeper-data"),
              show_default=True, help="The embedded store's folder.")
@click.option("--window", default="1d", show_default=True, help="Hot spots and hints over.")
@click.option("--lookback", default="7d", show_default=True, help="Growth fitted over.")
@click.option("--target", default=0.8, show_default=True, type=click.FloatRange(0, 1,
              min_open=True), help="The utilisation whose crossing date is shown.")
@click.option("--json", "as_json", is_flag=True)
def plan(data: Path, window: str, lookback: str, target: float, as_json: bool) -> None:
    """Capacity planning: growth, headroom and target dates; hot spots; optimisation hints."""
    import json
    import time

    from watchkeeper.analysis.planning import plan as plan_of
    from watchkeeper.promql.durations import format_duration

    span = _duration(window)
    store, engine = _open_engine(data)
    try:
        answer = plan_of(engine, int(time.time() * 1000),
                         format_duration(max(1000, span // 1000 * 1000)),
                         _duration(lookback), target)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(answer, indent=2, default=str))
        return
    _show(answer["resources"], False, [
        ("resource", lambda r: f"{r['resource']} {_series(r['labels'])}"),
        ("used", lambda r: f"{100 * r['utilisation']:.0f} %"),
        ("growth/day", lambda r: "-" if r["growth_per_day"] is None
         else f"{r['growth_per_day']:.4g}"),
        ("headroom", lambda r: f"{r['headroom']:.4g}"),
        (f"reaches {100 * target:.0f} %", lambda r: "not growing" if r["target_crossed_at"]
         is None else _iso(r["target_crossed_at"]))])
    spots = answer["hot_spots"]
    for title, rows, name in (("slowest routes (total time)", spots["routes"], "http_route"),
                              ("busiest queries (total time)", spots["queries"],
                               "db_operation_name")):
        if rows:
            click.echo(f"\n{title}:")
            _show(rows, False, [(name, lambda r, n=name: r.get(n, "?")),
                                ("total s", lambda r: f"{r['total_seconds']:.4g}"),
                                ("calls", lambda r: f"{r['count']:.0f}"),
                                ("mean s", lambda r: "-" if r["mean_seconds"] is None
                                 else f"{r['mean_seconds']:.3g}")])
    if spots["caches"]:
        click.echo("\ncaches by miss cost:")
        _show(spots["caches"], False, [
            ("cache", lambda r: f"{r.get('cache', '?')} ({r.get('tier', '?')})"),
            ("misses", lambda r: f"{r['misses']:.0f}"),
            ("hit ratio", lambda r: "-" if r["hit_ratio"] is None else f"{r['hit_ratio']:.2f}"),
            ("miss cost s", lambda r: "-" if r["miss_cost_seconds"] is None
             else f"{r['miss_cost_seconds']:.3g}")])
    if answer["hints"]:
        click.echo("\nhints:")
        for h in answer["hints"]:
            click.echo(f"  - {h['hint']}")


def _iso(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _days(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds / 86400:.1f} d" if seconds >= 86400 else f"{seconds / 3600:.1f} h"


def _bytes(n: float) -> str:
    from watchkeeper.health.checks import human_bytes

    return human_bytes(n)
