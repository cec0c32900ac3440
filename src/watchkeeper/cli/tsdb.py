"""``watchkeeper tsdb``: import OpenMetrics history, inspect and export the embedded store."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

DATA_HELP = "Data directory of the store."


def _parse_time(text: str | None, default: int) -> int:
    """Unix seconds (fractions allowed) or RFC 3339 -> milliseconds."""
    if text is None:
        return default
    try:
        return round(float(text) * 1000)
    except ValueError:
        pass
    try:
        return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither Unix seconds nor RFC 3339") from None


def _open(data: Path, must_exist: bool, **options: Any):  # type: ignore[no-untyped-def]
    from watchkeeper.tsdb.errors import TSDBError
    from watchkeeper.tsdb.store import Store

    if must_exist and not (data / "tsdb.sqlite3").exists():
        raise click.ClickException(f"no store in {data} (nothing imported yet?)")
    try:
        return Store.open(data, background=False, **options)
    except TSDBError as e:
        raise click.ClickException(str(e)) from None


@click.group()
def tsdb() -> None:
    """Import, export and inspect the embedded store."""


@tsdb.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--data", "data", required=True, type=click.Path(path_type=Path), help=DATA_HELP)
def import_cmd(file: Any, data: Path) -> None:
    """Import FILE (OpenMetrics text with timestamps, as promtool's backfill takes)."""
    from watchkeeper.exposition.parse import ParseError
    from watchkeeper.tsdb.errors import TSDBError
    from watchkeeper.tsdb.exchange import MissingTimestampError, import_openmetrics

    from .progress import Progress

    store = _open(data, must_exist=False, sync="never")
    try:
        with Progress(f"import {Path(file.name).name}", _size(file), "bytes") as progress:
            report = import_openmetrics(store, _Counted(file, progress.advance))
        store.maintain()
    except (ParseError, MissingTimestampError) as e:
        store.close()
        raise click.ClickException(
            f"{file.name}: {e} (samples before this point were imported)") from None
    except TSDBError as e:
        store.close()
        raise click.ClickException(str(e)) from None
    store.close()
    click.echo(f"{report} into {data}")


@tsdb.command()
@click.option("--data", "data", required=True, type=click.Path(path_type=Path), help=DATA_HELP)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(data: Path, as_json: bool) -> None:
    """Series, samples, bytes on disk, time range and the biggest metrics."""
    store = _open(data, must_exist=True)
    try:
        figures = store.stats()
        figures["health"] = store.health().__dict__
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(figures, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    def when(ms: int | None) -> str:
        return "-" if ms is None else datetime.fromtimestamp(ms / 1000).isoformat(sep=" ")

    table = Table(title=f"store {data}", show_header=False)
    rows = [
        ("series", f"{figures['series']:,}"),
        ("samples", f"{figures['samples']:,}"),
        ("bytes on disk", f"{figures['bytes_on_disk']:,}"),
        ("bytes per sample", "-" if figures["bytes_per_sample"] is None
         else f"{figures['bytes_per_sample']:.2f}"),
        ("chunks", f"{figures['chunks']:,} ({figures['chunk_bytes']:,} B)"),
        ("rollup blocks", f"{figures['rollup_blocks']:,} ({figures['rollup_bytes']:,} B)"),
        ("time range", f"{when(figures['min_time_ms'])} .. {when(figures['max_time_ms'])}"),
        ("rejected", ", ".join(f"{k} {v}" for k, v in figures["rejected"].items())),
        ("health", figures["health"]["status"] + "".join(
            f"\n  {r}" for r in figures["health"]["reasons"])),
    ]
    for name, value in rows:
        table.add_row(name, value)
    top = Table(title="series per metric (top 10)")
    top.add_column("metric")
    top.add_column("series", justify="right")
    for name, count in figures["top_metrics"].items():
        top.add_row(name, f"{count:,}")
    console = Console()
    console.print(table)
    console.print(top)


@tsdb.command()
@click.option("--data", "data", required=True, type=click.Path(path_type=Path), help=DATA_HELP)
@click.option("--match", "selector", default=None,
              help='Series selector, e.g. \'up{job="api"}\'; default all series.')
@click.option("--start", default=None, help="Unix seconds or RFC 3339.")
@click.option("--end", default=None, help="Unix seconds or RFC 3339.")
def export(data: Path, selector: str | None, start: str | None, end: str | None) -> None:
    """Write samples as OpenMetrics text (re-importable)."""
    from watchkeeper.tsdb.api import MAX_TIME, MIN_TIME
    from watchkeeper.tsdb.errors import BadMatcherError
    from watchkeeper.tsdb.exchange import export_openmetrics
    from watchkeeper.tsdb.matchers import parse_selector

    try:
        matchers = parse_selector(selector) if selector else []
    except BadMatcherError as e:
        raise click.BadParameter(str(e), param_hint="--match") from None
    from .progress import Progress

    lo, hi = _parse_time(start, MIN_TIME), _parse_time(end, MAX_TIME)
    store = _open(data, must_exist=True)
    try:
        with Progress("export", len(store.series(matchers)), "series") as progress:
            export_openmetrics(_Reported(store, progress.advance), sys.stdout, matchers, lo, hi)
    finally:
        store.close()


def _size(file: Any) -> int | None:
    try:
        return os.fstat(file.fileno()).st_size or None
    except (OSError, AttributeError, ValueError):
        return None


class _Counted:
    """A binary file that reports the bytes read through it (lines, as the parser reads)."""

    def __init__(self, file: Any, advance: Any) -> None:
        self.file = file
        self.advance = advance
        self.name = getattr(file, "name", "-")

    def __iter__(self) -> Any:
        pending = 0
        for line in self.file:
            pending += len(line)
            if pending >= 65536:  # a bar update per line would cost more than the parse
                self.advance(pending)
                pending = 0
            yield line
        self.advance(pending)

    def read(self, n: int = -1) -> bytes:
        chunk = self.file.read(n)
        self.advance(len(chunk))
        return chunk


class _Reported:
    """The store, reporting each series the export reads."""

    def __init__(self, store: Any, advance: Any) -> None:
        self._store = store
        self._advance = advance

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def select(self, *args: Any, **kwargs: Any) -> Any:
        for data in self._store.select(*args, **kwargs):
            yield data
            self._advance(1)

