"""``watchkeeper stats``: host performance at a glance, like a compact Glances.

Rates need two samples, so the first view appears after one interval; ``--watch`` keeps
refreshing in place, each view computed from the previous snapshot. With ``--url`` the
server computes the same summary for its own host (``/api/v1/status/host``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import click

from watchkeeper.health.checks import human_bytes

from .remote import Server, ServerError, auth_options, shown


def _bar(percent: float, width: int = 24) -> str:
    filled = round(width * min(max(percent, 0.0), 100.0) / 100)
    colour = "red" if percent >= 90 else "yellow" if percent >= 70 else "green"
    return f"[{colour}]{'█' * filled}[/][dim]{'░' * (width - filled)}[/] {percent:5.1f}%"


def render(summary: dict[str, Any]) -> Any:
    """The summary of ``summarize`` as a group of small rich tables."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table

    cpu, mem, swap, load = summary["cpu"], summary["memory"], summary["swap"], summary["load"]
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_column(style="dim")
    modes = ", ".join(f"{m} {cpu[m]:.1f}%" for m in ("user", "system", "iowait", "steal")
                      if m in cpu)
    head.add_row("CPU", _bar(cpu["percent"]), f"{cpu['cores']} cores; {modes}")
    head.add_row("Memory", _bar(mem["percent"]),
                 f"{human_bytes(mem['used_bytes'])} of {human_bytes(mem['total_bytes'])}")
    head.add_row("Swap", _bar(swap["percent"]) if swap["total_bytes"] else "[dim]none[/]",
                 f"{human_bytes(swap['used_bytes'])} of {human_bytes(swap['total_bytes'])}")
    head.add_row("Load", f"{load['1m']:.2f} {load['5m']:.2f} {load['15m']:.2f}",
                 "1m 5m 15m")
    containers = summary.get("containers")
    if containers is not None:
        states = ", ".join(f"{k} {v}" for k, v in sorted(containers.items()) if v)
        head.add_row("Containers", f"{containers.get('running', 0)} running", states)

    fs = Table(title="Disk usage", title_justify="left", expand=False)
    for col, justify in (("mount", "left"), ("fstype", "left"), ("used", "right"),
                         ("size", "right"), ("use%", "right")):
        fs.add_column(col, justify=justify)
    for row in summary["filesystems"]:
        fs.add_row(escape(row["mountpoint"]), row["fstype"], human_bytes(row["used_bytes"]),
                   human_bytes(row["total_bytes"]), f"{row['percent']:.1f}%")

    io = Table(title="Disk I/O and network (per second)", title_justify="left")
    for col, justify in (("device", "left"), ("read / rx", "right"), ("write / tx", "right")):
        io.add_column(col, justify=justify)
    for name, r in summary["disk_io"].items():
        io.add_row(f"disk {escape(name)}", human_bytes(r["read_bytes_per_second"]),
                   human_bytes(r["write_bytes_per_second"]))
    for name, r in summary["network"].items():
        io.add_row(f"net {escape(name)}", human_bytes(r["receive_bytes_per_second"]),
                   human_bytes(r["transmit_bytes_per_second"]))

    tops = []
    for key, title in (("by_cpu", "Top processes by CPU"),
                       ("by_memory", "Top processes by memory")):
        t = Table(title=title, title_justify="left")
        for col, justify in (("pid", "right"), ("name", "left"), ("user", "left"),
                             ("cpu%", "right"), ("rss", "right"), ("mem%", "right")):
            t.add_column(col, justify=justify)
        for p in summary["processes"][key]:
            t.add_row(str(p["pid"]), escape(p["name"]), escape(p["user"]),
                      f"{p['cpu_percent']:.1f}", human_bytes(p["rss_bytes"]),
                      f"{p['memory_percent']:.1f}")
        tops.append(t)
    return Group(head, fs, io, *tops)


def local_summaries(interval: float, top: int) -> Iterator[dict[str, Any]]:
    """Summaries of this host, each over the ``interval`` since the previous snapshot."""
    from watchkeeper.system.snapshot import summarize, take_snapshot

    previous = take_snapshot()
    while True:
        time.sleep(interval)
        current = take_snapshot()
        yield summarize(previous, current, top)
        previous = current


def remote_summaries(server: Server, interval: float, top: int) -> Iterator[dict[str, Any]]:
    """Summaries the server computes of its host; each request takes ``interval``."""
    while True:
        answer = server.get_json("/api/v1/status/host", timeout=interval + 30,
                                 params={"interval": interval, "top": top})
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
            raise ServerError(f"{shown(server.url)}/api/v1/status/host: not a host summary")
        yield answer["data"]


@click.command()
@click.option("--url", help="Ask a running watchkeeper serve (its base URL, e.g. "
                            "http://127.0.0.1:9797) about its host instead.")
@auth_options
@click.option("--watch", is_flag=True, help="Keep refreshing in place until interrupted.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON (one object per refresh with --watch).")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.05),
              help="Seconds between the two samples rates are computed from (at most 60 "
                   "with --url).")
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=0),
              help="How many processes to list.")
@click.option("--count", default=0, type=click.IntRange(min=0),
              help="With --watch, stop after this many refreshes (0: never).")
def stats(url: str | None, token: str | None, user: str | None, watch: bool, as_json: bool,
          interval: float, top: int, count: int) -> None:
    """Host performance at a glance: CPU, memory, disks, network, top processes."""
    if url is None:
        _show(local_summaries(interval, top), watch, as_json, count)
        return
    with Server.from_options(url, token, user) as server:
        _show(remote_summaries(server, interval, top), watch, as_json, count)


def _show(summaries: Iterator[dict[str, Any]], watch: bool, as_json: bool,
          count: int) -> None:
    """Print the first summary, or keep printing (in place, or one JSON line each)."""
    summary = next(summaries)
    if as_json:
        click.echo(json.dumps(summary))
    if not watch:
        if not as_json:
            from rich.console import Console

            Console().print(render(summary))
        return
    refreshes = 1
    try:
        if as_json:
            while not count or refreshes < count:
                click.echo(json.dumps(next(summaries)))
                refreshes += 1
            return
        from rich.live import Live

        with Live(render(summary), refresh_per_second=4, auto_refresh=False) as live:
            while not count or refreshes < count:
                live.update(render(next(summaries)), refresh=True)
                refreshes += 1
    except KeyboardInterrupt:
        pass
