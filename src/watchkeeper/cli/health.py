"""``watchkeeper health``: run health checks once (or live) and show their status.

Exit codes follow the monitoring-plugin convention so scripts and cron can act on them:
0 healthy, 1 degraded, 2 unhealthy, 3 the config could not be used.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

EXIT_CONFIG_ERROR = 3
_STYLES = {"healthy": "green", "degraded": "yellow", "unhealthy": "bold red"}


def _load_checks(config_path: str | None) -> list[Any]:
    from watchkeeper.health.config import ConfigError, build_checks, default_checks, load_config

    if config_path is None:
        return default_checks()
    try:
        checks = build_checks(load_config(config_path))
    except ConfigError as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(EXIT_CONFIG_ERROR) from None
    if not checks:
        click.echo(f"error: {config_path}: the 'checks:' list is empty", err=True)
        raise SystemExit(EXIT_CONFIG_ERROR)
    return checks


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def render_table(results: list[Any], overall: Any, histories: dict | None = None) -> Any:
    """A rich table: check, status (coloured), duration, details; with ``histories`` (the
    live view) also how long each status has held and whether the check is flapping."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"health: [{_STYLES[overall.value]}]{overall.value}[/]",
                  title_justify="left", expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    if histories is not None:
        table.add_column("since", justify="right", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("details", overflow="fold")
    now = time.time()
    for r in results:
        name = escape(r.name) + ("" if r.critical else " [dim](non-critical)[/]")
        row = [name, f"[{_STYLES[r.status.value]}]{r.status.value}[/]"]
        if histories is not None:
            history = histories.get(r.name)
            since = _age(now - history.last_change) if history and history.last_change else ""
            if history is not None and history.is_flapping():
                since += " [bold magenta]flapping[/]"
            row.append(since)
        row += [_duration(r.duration), escape(r.details)]
        table.add_row(*row)
    return table


def _epilog() -> str:
    from watchkeeper.health.checks import CHECK_TYPES

    return ("Check types for --config: " + ", ".join(CHECK_TYPES) + ". Each entry: type, "
            "name, parameters, timeout, critical, interval.")


@click.command("health", epilog=_epilog())
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="YAML file with a 'checks:' list (default: disk of /, memory, CPU load).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the application/health+json document instead of a table.")
@click.option("--watch", is_flag=True, help="Keep running the checks and show a live view.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between rounds with --watch.")
@click.option("--count", type=click.IntRange(min=0), default=0,
              help="With --watch, stop after this many rounds (0: until Ctrl-C).")
def health(config_path: str | None, as_json: bool, watch: bool, interval: float,
           count: int) -> None:
    """Run health checks and show their status.

    Exit code: 0 healthy, 1 degraded, 2 unhealthy, 3 bad config.
    """
    from watchkeeper.health.model import overall_status
    from watchkeeper.health.report import health_document
    from watchkeeper.health.runner import Runner

    runner = Runner(_load_checks(config_path))

    def one_round() -> tuple[list[Any], Any]:
        results = runner.run_sync()
        return results, overall_status(results)

    if not watch:
        results, overall = one_round()
        if as_json:
            click.echo(json.dumps(health_document(results, status=overall), indent=2))
        else:
            from rich.console import Console

            Console().print(render_table(results, overall))
        raise SystemExit(overall.exit_code)

    overall = None
    rounds = 0
    try:
        if as_json:  # one document per line, for piping into jq or a log
            while not count or rounds < count:
                results, overall = one_round()
                rounds += 1
                click.echo(json.dumps(health_document(results, status=overall)))
                if not count or rounds < count:
                    time.sleep(interval)
        else:
            from rich.console import Console
            from rich.live import Live

            console = Console()
            with Live(console=console, auto_refresh=False, transient=False) as live:
                while not count or rounds < count:
                    results, overall = one_round()
                    rounds += 1
                    live.update(render_table(results, overall, runner.histories()),
                                refresh=True)
                    if not count or rounds < count:
                        time.sleep(interval)
            console.print()
    except KeyboardInterrupt:
        pass
    raise SystemExit(overall.exit_code if overall is not None else 0)
