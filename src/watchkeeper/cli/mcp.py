"""``watchkeeper mcp`` (an MCP server on stdio) and ``watchkeeper diagnose`` (the same
overview for a person)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def _backend(url: str | None, token: str | None, data: Path) -> Any:
    from watchkeeper.mcp.backend import Backend, BackendError

    try:
        return Backend.remote(url, token) if url else Backend.local(data)
    except BackendError as e:
        raise click.ClickException(str(e)) from None


_source = [
    click.option("--url", envvar="WATCHKEEPER_URL",
                 help="A running watchkeeper serve (else the local store is read)."),
    click.option("--token", envvar="WATCHKEEPER_TOKEN", help="Its bearer token."),
    click.option("--data", type=click.Path(path_type=Path), default=Path("watchkeeper-data"),
                 show_default=True, help="The local store's folder, without --url."),
]


def source(fn: Any) -> Any:
    for opt in reversed(_source):
        fn = opt(fn)
    return fn


@click.command()
@source
@click.option("--mcp-write", "write", is_flag=True,
              help="Also offer write tools (silence, acknowledge), marked destructive.")
@click.option("--tool-prefix", default="", help="Before every tool name (several instances).")
@click.option("--allow", multiple=True, help="Offer only these tools (repeatable).")
@click.option("--config", "-c", "config_file", type=click.Path(dir_okay=False, exists=True),
              help="The server's config: its secrets are hidden in every answer.")
def mcp(url: str | None, token: str | None, data: Path, write: bool, tool_prefix: str,
        allow: tuple[str, ...], config_file: str | None) -> None:
    """An MCP server on stdin/stdout for an LLM client (Claude Desktop, an IDE, an agent)."""
    import importlib.util

    if importlib.util.find_spec("mcp") is None:  # pragma: no cover - the extra is missing
        raise click.ClickException("the MCP server needs its extra: pip install "
                                   "'watchkeeper[mcp]'")
    from watchkeeper.mcp import early  # the tools and the SDK load on the thread below

    if not url and not data.exists():  # said now, not after initialize was answered
        raise click.ClickException(f"no store at {data}")
    backends: list[Any] = []

    def build() -> Any:  # on a thread, while initialize is answered (see mcp/early.py)
        from watchkeeper.mcp.server import build

        backends.append(_backend(url, token, data))
        return build(backends[0], write=write, prefix=tool_prefix,
                     allow=set(allow) if allow else None,
                     redactor=_redactor(config_file, token))

    try:
        early.run_stdio(build, early.NAME, early.VERSION, early.INSTRUCTIONS,
                        early.tools_list(write, tool_prefix, set(allow) if allow else None))
    finally:
        for backend in backends:
            backend.close()


def _redactor(config_file: str | None, token: str | None) -> Any:
    """The config's secrets and the token, loaded when the first answer leaves (so
    ``initialize`` never waits for it)."""
    cached: list[Any] = []

    def get() -> Any:
        if not cached:
            from watchkeeper.config.loader import load_config
            from watchkeeper.config.secrets import Redactor, config_redactor

            values = list(config_redactor(load_config(config_file)).values
                          if config_file else [])
            cached.append(Redactor([*values, *([token] if token else [])]))
        return cached[0]

    return get


@click.command()
@source
@click.option("--json", "as_json", is_flag=True, help="The overview as JSON, for scripts.")
def diagnose(url: str | None, token: str | None, data: Path, as_json: bool) -> None:
    """What is failing, since when, what fired, what is down and what runs out first."""
    from watchkeeper.mcp.status import status

    backend = _backend(url, token, data)
    try:
        overview = status(backend)
        overview["changed_around"] = _likely_cause(backend, overview)
    finally:
        backend.close()
    if as_json:
        click.echo(json.dumps(overview, indent=2, default=str))
        return
    _render(overview)


def _likely_cause(backend: Any, overview: dict[str, Any]) -> Any:
    """What changed most around the time the first problem began (the series whose level
    or spread moved then): where a person looks first for the cause."""
    from watchkeeper.mcp.shapes import ToolError
    from watchkeeper.mcp.tools import what_changed

    starts = [c.get("since") for c in overview["health"]["failing_checks"]]
    starts += [a.get("since") for a in overview["alerts"]["top"]]
    starts = sorted(str(s) for s in starts if s)
    if not starts:
        return None
    try:
        changes = what_changed(backend, at=starts[0], window="15m", top=3)
    except ToolError as e:
        return f"not available: {e}"
    return {"at": starts[0], "changes": changes["changes"]}


def _render(o: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape as e

    c = Console()
    h = o["health"]
    style = "red" if h["failing"] else "green"
    c.print(f"[bold]Health[/]: [{style}]{h['failing']} of {h['checks']} checks failing[/]")
    for f in h["failing_checks"]:
        c.print(f"  [red]✗[/] {e(f['check'])} ({f['status']} since "
                f"{f.get('since') or '?'}): {e(f.get('output', ''))}")
    a = o["alerts"]
    c.print(f"[bold]Alerts[/]: {a['firing']} firing")
    for x in a["top"]:
        c.print(f"  [red]![/] {e(str(x['severity']))} {e(str(x['alert']))} since "
                f"{x['since']}: {e(x['summary'])}")
    t = o["targets"]
    if isinstance(t, dict):
        c.print(f"[bold]Targets[/]: {t['down']} of {t['total']} down")
        for d in t["down_targets"]:
            c.print(f"  [red]↓[/] {e(str(d['job']))} {e(str(d['instance']))}: "
                    f"{e(d['error'])}")
    cause = o.get("changed_around")
    if isinstance(cause, dict) and cause["changes"]:
        c.print(f"[bold]Changed around {e(cause['at'])}[/] (the likely cause first):")
        for x in cause["changes"]:
            c.print(f"  ~ {x['series']}: {x['before']} → {x['after']} at "
                    f"{_when(x['changed_at'])}", markup=False)
    elif isinstance(cause, str):
        c.print(f"[bold]Changed around then[/]: {e(cause)}")
    cap = o["capacity"]
    c.print("[bold]Runs out first[/]:")
    if isinstance(cap, list):
        for x in cap:
            c.print(f"  {x['resource']} {x['what']} full in {x['full_in']} (used {x['used']}, "
                    f"+{x['growth_per_day']}/day)", markup=False)
    else:
        c.print(f"  {cap}", markup=False)
    if o.get("store"):
        c.print(f"[bold]Store[/]: {o['store'].get('series')} series")


def _when(seconds: Any) -> str:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(float(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError):
        return str(seconds)
