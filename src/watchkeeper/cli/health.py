"""``watchkeeper health``: run health checks once (or live) and show their status, or ask
a running ``watchkeeper serve`` for its ``/health`` with ``--url``.

Exit codes follow the monitoring-plugin convention so scripts and cron can act on them:
0 healthy, 1 degraded, 2 unhealthy, 3 the config could not be used or the server gave
no usable answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import click

from .remote import Server, ServerError, auth_options, shown

EXIT_CONFIG_ERROR = 3
Since = Mapping[str, tuple[float | None, bool]]  # check -> (status held since, flapping)
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


def render_table(results: list[Any], overall: Any, since: Since | None = None) -> Any:
    """A rich table: check, status (coloured), duration, details; with ``since`` (the
    live view) also how long each status has held and whether the check is flapping."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"health: [{_STYLES[overall.value]}]{overall.value}[/]",
                  title_justify="left", expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    if since is not None:
        table.add_column("since", justify="right", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("details", overflow="fold")
    now = time.time()
    for r in results:
        name = escape(r.name) + ("" if r.critical else " [dim](non-critical)[/]")
        row = [name, f"[{_STYLES[r.status.value]}]{r.status.value}[/]"]
        if since is not None:
            changed, flapping = since.get(r.name, (None, False))
            held = _age(now - changed) if changed else ""
            row.append(held + (" [bold magenta]flapping[/]" if flapping else ""))
        row += [_duration(r.duration), escape(r.details)]
        table.add_row(*row)
    return table


def _epilog() -> str:
    from watchkeeper.health.checks import CHECK_TYPES

    return ("Check types for --config: " + ", ".join(CHECK_TYPES) + ". Each entry: type, "
            "name, parameters, timeout, critical, interval.")


def _timestamp(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return None


def read_document(doc: Any) -> tuple[list[Any], Any, dict[str, tuple[float | None, bool]]]:
    """Results, overall status and since/flapping per check from a health+json document
    (the inverse of ``health_document``); ValueError if it is not one."""
    from watchkeeper.health.model import CheckResult, Outcome

    if not isinstance(doc, dict) or not isinstance(doc.get("checks", {}), dict):
        raise ValueError("not a health+json document")
    overall = Outcome.coerce(str(doc.get("status"))).status
    results, since = [], {}
    for key, entries in doc.get("checks", {}).items():
        for entry in entries if isinstance(entries, list) else []:
            name = str(entry.get("componentId") or key.partition(":")[0])
            results.append(CheckResult(
                name=name, status=Outcome.coerce(str(entry.get("status"))).status,
                details=str(entry.get("output", "")),
                timestamp=_timestamp(entry.get("time")) or 0.0,
                duration=float(entry.get("durationSeconds") or 0.0),
                critical=bool(entry.get("critical", True))))
            since[name] = (_timestamp(entry.get("statusSince")), bool(entry.get("flapping")))
    return results, overall, since


def _remote_round(server: Server, timeout: float) -> tuple[dict, list[Any], Any, Since]:
    """One answer of the server's /health (503 carries the document of a failing server)."""
    doc = server.get_json("/health", timeout=timeout, statuses=(200, 503))
    try:
        results, overall, since = read_document(doc)
    except (ValueError, TypeError, AttributeError) as e:
        raise ServerError(f"{shown(server.url)}/health: {e}") from None
    return doc, results, overall, since


def _local_rounds(config_path: str | None) -> Callable[[], tuple[dict, list, Any, Since]]:
    from watchkeeper.health.model import overall_status
    from watchkeeper.health.report import health_document
    from watchkeeper.health.runner import Runner

    runner = Runner(_load_checks(config_path))

    def one_round() -> tuple[dict, list[Any], Any, Since]:
        results = runner.run_sync()
        overall = overall_status(results)
        since = {name: (h.last_change, h.is_flapping())
                 for name, h in runner.histories().items()}
        return health_document(results, status=overall), results, overall, since

    return one_round


@click.command("health", epilog=_epilog())
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="YAML file with a 'checks:' list (default: disk of /, memory, CPU load).")
@click.option("--url", help="Ask a running watchkeeper serve (its base URL, e.g. "
                            "http://127.0.0.1:9797) for its /health instead.")
@auth_options
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds to wait for --url.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the application/health+json document instead of a table.")
@click.option("--watch", is_flag=True, help="Keep running the checks and show a live view.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between rounds with --watch.")
@click.option("--count", type=click.IntRange(min=0), default=0,
              help="With --watch, stop after this many rounds (0: until Ctrl-C).")
def health(config_path: str | None, url: str | None, token: str | None, user: str | None,
           timeout: float, as_json: bool, watch: bool, interval: float, count: int) -> None:
    """Run health checks, or ask a server, and show their status.

    Exit code: 0 healthy, 1 degraded, 2 unhealthy, 3 bad config or no usable answer.
    """
    if url and config_path:
        click.echo("error: give --config or --url, not both", err=True)
        raise SystemExit(EXIT_CONFIG_ERROR)
    try:  # a usage error or an unanswered prompt must not read as "unhealthy" (2)
        server = Server.from_options(url, token, user) if url else None
    except (click.UsageError, click.Abort) as e:
        click.echo(f"error: {getattr(e, 'message', '') or 'no password given'}", err=True)
        raise SystemExit(EXIT_CONFIG_ERROR) from None
    one_round = ((lambda: _remote_round(server, timeout)) if server is not None
                 else _local_rounds(config_path))
    try:
        overall = _show(one_round, as_json, watch, interval, count)
    except ServerError as e:
        click.echo(f"error: {e.message}", err=True)
        raise SystemExit(EXIT_CONFIG_ERROR) from None
    finally:
        if server is not None:
            server.close()
    raise SystemExit(overall.exit_code if overall is not None else 0)


def _show(one_round: Callable[[], tuple[dict, list, Any, Since]], as_json: bool, watch: bool,
          interval: float, count: int) -> Any:
    """Print one round, or keep printing with ``watch``; the last overall status."""
    from rich.console import Console

    if not watch:
        doc, results, overall, _ = one_round()
        if as_json:
            click.echo(json.dumps(doc, indent=2))
        else:
            Console().print(render_table(results, overall))
        return overall

    overall = None
    rounds = 0
    try:
        if as_json:  # one document per line, for piping into jq or a log
            while not count or rounds < count:
                doc, _, overall, _ = one_round()
                rounds += 1
                click.echo(json.dumps(doc))
                if not count or rounds < count:
                    time.sleep(interval)
        else:
            from rich.live import Live

            console = Console()
            with Live(console=console, auto_refresh=False, transient=False) as live:
                while not count or rounds < count:
                    _, results, overall, since = one_round()
                    rounds += 1
                    live.update(render_table(results, overall, since), refresh=True)
                    if not count or rounds < count:
                        time.sleep(interval)
            console.print()
    except KeyboardInterrupt:
        pass
    return overall
