"""Progress of long CLI work (import, export, backfill): a rich bar with rate and ETA when
stderr is a terminal, else one plain line every ``every`` seconds, so a cron job's log
shows the work is alive without a screenful of control characters."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import click


def _human(n: float, unit: str) -> str:
    if unit == "bytes":
        for suffix in ("B", "KiB", "MiB", "GiB"):
            if abs(n) < 1024 or suffix == "GiB":
                return f"{n:.0f} {suffix}" if suffix == "B" else f"{n:.1f} {suffix}"
            n /= 1024
    return f"{n:,.0f} {unit}"


class Progress:
    """``with Progress("import", total=size, unit="bytes") as p: p.advance(n)``."""

    def __init__(self, description: str, total: float | None, unit: str = "items", *,
                 stream: TextIO | None = None, every: float = 10.0, bar: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.clock = clock
        self.done = 0.0
        self.bar = _isatty(self.stream) if bar is None else bar
        self._progress: Any = None
        self._task: Any = None
        self._started = self._last_line = 0.0

    def __enter__(self) -> Progress:
        self._started = self._last_line = self.clock()
        if self.bar:
            self._progress = _rich_progress(self.stream, self.unit)
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total)
        return self

    def advance(self, n: float = 1) -> None:
        self.done += n
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done)
            return
        now = self.clock()
        if now - self._last_line >= self.every:
            self._last_line = now
            click.echo(self.line(now), file=self.stream)

    def line(self, now: float | None = None) -> str:
        """done/total, percent, rate and ETA as one line of text."""
        elapsed = max(1e-9, (self.clock() if now is None else now) - self._started)
        rate = self.done / elapsed
        text = f"{self.description}: {_human(self.done, self.unit)}"
        if self.total:
            text += f"/{_human(self.total, self.unit)} ({self.done / self.total:.0%})"
        text += f", {_human(rate, self.unit)}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", ETA {(self.total - self.done) / rate:.0f}s"
        return text

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            if self.total is not None and exc[0] is None:
                self._progress.update(self._task, completed=self.total)
            self._progress.stop()
            self._progress = None


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _rich_progress(stream: TextIO, unit: str) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as RichProgress

    if unit == "bytes":
        amount: list[Any] = [DownloadColumn(), TransferSpeedColumn()]
    else:
        amount = [MofNCompleteColumn(), _rate_column(unit)]
    return RichProgress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                        *amount, TextColumn("ETA"), TimeRemainingColumn(),
                        console=Console(file=stream), transient=False,
                        redirect_stdout=False, redirect_stderr=False)  # data stays data


def _rate_column(unit: str) -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            text = "?" if speed is None else f"{speed:,.0f} {unit}/s"
            return Text(text, style="progress.data.speed")

    return RateColumn()
