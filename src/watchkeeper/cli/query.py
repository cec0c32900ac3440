"""``watchkeeper query``: evaluate PromQL on the embedded store or any Prometheus-compatible
server, shown as a chart per series (a range query on a terminal), a table (with a
sparkline per series for range queries) or as the API's JSON.

The expression is the one positional argument and may start with ``-`` (``-rate(x[5m])``,
``-1``): anything that is not one of the command's own options is the expression, so
nobody has to know about ``--``."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from .remote import Server, auth_options, decode

SPARKS = "▁▂▃▄▅▆▇█"


def _time_ms(text: str | None, now_ms: int) -> int | None:
    """Unix seconds, RFC 3339, 'now', or now minus a duration such as '-1h'."""
    from watchkeeper.promql.durations import parse_duration, parse_time
    from watchkeeper.promql.errors import PromQLBadArgument

    if text is None:
        return None
    if text == "now":
        return now_ms
    if text.startswith("-"):
        try:
            return now_ms - parse_duration(text[1:])
        except ValueError:
            pass
    try:
        return parse_time(text)
    except PromQLBadArgument as e:
        raise click.BadParameter(str(e)) from None


def _step_ms(text: str | None, start: int, end: int) -> int:
    from watchkeeper.promql.durations import parse_step
    from watchkeeper.promql.errors import PromQLBadArgument

    if text is None:  # about 250 points, at least one second
        return max(1000, (end - start) // 250 // 1000 * 1000)
    try:
        return parse_step(text)
    except PromQLBadArgument as e:
        raise click.BadParameter(str(e)) from None


def sparkline(values: list[float]) -> str:
    """One character per point, scaled between the series' finite min and max."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = high - low
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append(" ")
        else:
            out.append(SPARKS[0 if span == 0 else round((v - low) / span * (len(SPARKS) - 1))])
    return "".join(out)


def _local(expr: str, data: Path, at: int | None, rng: tuple[int, int, int] | None) -> dict:
    from watchkeeper.promql.engine import Engine
    from watchkeeper.promql.errors import PromQLError
    from watchkeeper.promql.formatting import result_to_api
    from watchkeeper.tsdb.errors import TSDBError
    from watchkeeper.tsdb.store import Store

    if not (data / "tsdb.sqlite3").exists():
        raise click.ClickException(f"no store in {data}")
    try:
        store = Store.open(data, background=False)
    except TSDBError as e:
        raise click.ClickException(str(e)) from None
    try:
        engine = Engine(store)
        result = engine.range(expr, *rng) if rng else engine.instant(expr, at)  # type: ignore[arg-type]
        return {"status": "success", "data": result_to_api(result)}
    except PromQLError as e:
        return {"status": "error", "errorType": e.error_type, "error": str(e)}
    finally:
        store.close()


def _remote(expr: str, server: Server, at: int | None,
            rng: tuple[int, int, int] | None) -> dict:
    if rng:
        path, params = "query_range", {"query": expr, "start": rng[0] / 1000,
                                       "end": rng[1] / 1000, "step": rng[2] / 1000}
    else:
        path, params = "query", {"query": expr, "time": (at or 0) / 1000}
    with server:
        response = server.request("POST", f"/api/v1/{path}", data=params, timeout=60)
    # Prometheus answers query errors with a JSON body and a 4xx/5xx status
    return decode(response, statuses=(response.status_code,))


class ExpressionCommand(click.Command):
    """A command whose one positional argument may look like an option (``-x``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, positional_last(self, ctx, args))


def positional_last(command: click.Command, ctx: click.Context, args: list[str]) -> list[str]:
    """Move the first argument that is neither a known option nor an option's value behind
    ``--``, where click takes it as positional whatever its first character."""
    takes_value: dict[str, bool] = {}
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            for opt in (*param.opts, *param.secondary_opts):
                takes_value[opt] = not (param.is_flag or param.count)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return args
        name = arg.split("=", 1)[0]
        if name in takes_value:
            i += 2 if takes_value[name] and "=" not in arg else 1
            continue
        if arg.startswith("-") and len(arg) > 1:
            return [*args[:i], *args[i + 1:], "--", arg]
        return args
    return args


def render_charts(data: dict[str, Any], template: str | None) -> bool:
    """A chart per series of a range result; False when the result is not a matrix."""
    from rich.console import Console
    from rich.markup import escape

    from .termchart import series_block

    if data["resultType"] != "matrix" or not data["result"]:
        return False
    console = Console()
    width = max(20, min(120, console.width - 14))
    for s in data["result"]:
        values = [float(v) for _, v in s["values"]]
        lines = series_block(s["metric"], values, template=template, width=width)
        console.print(f"[bold]{escape(lines[0])}[/bold]")
        for line in lines[1:-1]:
            console.print(escape(line), style="cyan", highlight=False)
        console.print(f"[dim]{escape(lines[-1])}[/dim]", highlight=False)
    return True


def render(data: dict[str, Any], template: str | None = None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .termchart import legend

    console = Console()
    kind, result = data["resultType"], data["result"]
    if kind in ("scalar", "string"):
        console.print(escape(str(result[1])))
        return
    if not result:
        console.print("[dim]empty result[/dim]")
        return
    if kind == "vector":
        table = Table("series", "value")
        for s in result:
            table.add_row(escape(legend(s["metric"], template)), s["value"][1])
    else:
        table = Table("series", "points", "last", "min", "max", "trend")
        for s in result:
            vals = [float(v) for _, v in s["values"]]
            finite = [v for v in vals if math.isfinite(v)] or [float("nan")]
            table.add_row(escape(legend(s["metric"], template)), str(len(vals)),
                          s["values"][-1][1], f"{min(finite):g}", f"{max(finite):g}",
                          sparkline(vals[-40:]))
    console.print(table)


@click.command(cls=ExpressionCommand)
@click.argument("expr")
@click.option("--time", "at", help="Evaluation time (unix seconds, RFC 3339, now, -5m).")
@click.option("--start", help="Range start: makes this a range query (default: end - 1h).")
@click.option("--end", help="Range end (default: now).")
@click.option("--step", help="Range step, seconds or a duration such as 1m (default: ~250 points).")
@click.option("--data", type=click.Path(path_type=Path), envvar="WATCHKEEPER_DATA",
              help="Data directory of the embedded store.")
@click.option("--url", help="Any Prometheus-compatible server, e.g. http://127.0.0.1:9090.")
@auth_options
@click.option("--json", "as_json", is_flag=True, help="Print the Prometheus API response.")
@click.option("--table", "as_table", is_flag=True,
              help="A table even on a terminal (range queries draw charts there).")
@click.option("--legend", "template", metavar="TEMPLATE",
              help="Name series by labels, e.g. '{{instance}} {{mode}}'.")
def query(expr: str, at: str | None, start: str | None, end: str | None, step: str | None,
          data: Path | None, url: str | None, token: str | None, user: str | None,
          as_json: bool, as_table: bool, template: str | None) -> None:
    """Evaluate a PromQL expression EXPR, now or over a range (EXPR may start with '-').

    A range query on a terminal draws a chart per series; --table or a pipe gives the
    table, --json the API's response."""
    if not url and data is None:
        raise click.UsageError("give --data DIR (or WATCHKEEPER_DATA) or --url URL")
    now = int(time.time() * 1000)
    rng = None
    if start or end or step:
        end_ms = _time_ms(end, now) or now
        start_ms = _time_ms(start, now) or end_ms - 3_600_000
        rng = (start_ms, end_ms, _step_ms(step, start_ms, end_ms))
    at_ms = _time_ms(at, now) or now
    if url:
        answer = _remote(expr, Server.from_options(url, token, user), at_ms, rng)
    else:
        answer = _local(expr, Path(data or os.curdir), at_ms, rng)
    if as_json:
        click.echo(json.dumps(answer))
    if answer.get("status") != "success":
        message = f"{answer.get('errorType', 'error')}: {answer.get('error', answer)}"
        if as_json:
            raise SystemExit(1)
        raise click.ClickException(message)
    if as_json:
        return
    if as_table or not sys.stdout.isatty() or not render_charts(answer["data"], template):
        render(answer["data"], template)
