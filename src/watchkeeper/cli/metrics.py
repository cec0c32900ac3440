"""``watchkeeper metrics``: this host's metrics, or any /metrics endpoint's, at a glance.

Without ``--url`` the host, process and Python runtime collectors are read in-process;
with it, the endpoint's exposition is fetched and parsed with our own parser. Families
come out as a table grouped by family, or as JSON for scripts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

import click

from watchkeeper.metrics.family import Metric

from .remote import Server, auth_options, shown


def local_families() -> list[Metric]:
    """The host, process and runtime families of the machine this runs on."""
    from watchkeeper.metrics.registry import CollectorRegistry
    from watchkeeper.metrics.runtime import GCCollector, PlatformCollector, ProcessCollector
    from watchkeeper.system import HostCollector

    registry = CollectorRegistry()
    registry.register(HostCollector())
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return list(registry.collect())


def endpoint_url(url: str) -> str:
    """A server's base URL means its /metrics; a URL with a path is the endpoint itself."""
    _, sep, rest = url.partition("://")
    if sep and "/" not in rest.rstrip("/"):
        return url.rstrip("/") + "/metrics"
    return url


def remote_families(server: Server, timeout: float) -> list[Metric]:
    """Fetch the endpoint as Prometheus would (asking for text or OpenMetrics) and parse it."""
    headers = {"Accept": "application/openmetrics-text;version=1.0.0;q=0.5,"
                         "text/plain;version=0.0.4;q=0.4,*/*;q=0.1"}
    url = shown(server.url)
    with server:
        response = server.request("GET", headers=headers, timeout=timeout)
    if response.status_code != 200:
        raise click.ClickException(f"{url} answered HTTP {response.status_code}")
    content_type = response.headers.get("content-type", "text/plain; version=0.0.4")
    from watchkeeper.exposition.parse import parse

    try:
        return list(parse(response.content, content_type))
    except ValueError as e:  # the parser's errors name the line that was wrong
        raise click.ClickException(f"{url} is not valid exposition: {e}") from None


def format_value(value: float) -> str:
    """Integers without a trailing .0, infinities and NaN as Prometheus writes them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def escape_label_value(value: str) -> str:
    """As the text format writes it, so a newline or quote cannot forge a line."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _json_value(value: float) -> float | str:
    return value if math.isfinite(value) else format_value(value)


def families_to_json(families: Iterable[Metric]) -> list[dict[str, Any]]:
    return [
        {
            "name": f.name, "type": f.type, "help": f.documentation, "unit": f.unit,
            "samples": [
                {"name": s.name, "labels": s.labels, "value": _json_value(s.value),
                 **({"timestamp": s.timestamp} if s.timestamp is not None else {})}
                for s in f.samples
            ],
        }
        for f in families
    ]


def render_table(families: Iterable[Metric]) -> Any:
    """A rich table: one section per family, its name, type and help on the first row."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", expand=False, show_lines=False)
    table.add_column("sample", overflow="fold")
    table.add_column("labels", overflow="fold")
    table.add_column("value", justify="right", no_wrap=True)
    for family in families:
        table.add_row(f"[bold cyan]{escape(family.name)}[/] [dim]{family.type}[/]",
                      f"[dim]{escape(family.documentation)}[/]", "")
        for s in family.samples:
            labels = ", ".join(f'{k}="{escape_label_value(v)}"' for k, v in s.labels.items())
            table.add_row(f"  {escape(s.name)}", escape(labels), format_value(s.value))
        table.add_section()
    return table


@click.command()
@click.option("--url", help="Read this /metrics endpoint instead of the local host (a "
                            "server's base URL, e.g. http://127.0.0.1:9797, means its /metrics).")
@auth_options
@click.option("--filter", "pattern", metavar="REGEX",
              help="Only families whose name matches this regular expression.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for --url.")
def metrics(url: str | None, token: str | None, user: str | None, pattern: str | None,
            as_json: bool, timeout: float) -> None:
    """Current metrics of this host (host, process, Python) or of any /metrics endpoint."""
    matcher = None
    if pattern is not None:
        try:
            matcher = re.compile(pattern)
        except re.error as e:
            raise click.BadParameter(f"not a regular expression: {e}",
                                     param_hint="--filter") from None
    if url:
        families = remote_families(Server.from_options(endpoint_url(url), token, user), timeout)
    else:
        families = local_families()
    if matcher is not None:
        families = [f for f in families if matcher.search(f.name)]
    if as_json:
        click.echo(json.dumps({"families": families_to_json(families)}))
        return
    from rich.console import Console

    console = Console()
    if not families:
        console.print("no metric families" + (f" match {pattern!r}" if pattern else ""))
        return
    console.print(render_table(families))
