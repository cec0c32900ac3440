"""``watchkeeper errors``: error groups, one group's samples and explanation, resolve/ignore.

Works on a data directory (``--data``, the one ``watchkeeper serve`` uses; the groups are
in ``<data>-errors/errors.db``) or on a running server (``--url``) through
``/api/v1/errors``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from .remote import auth_options, group_source


class _Local:
    def __init__(self, data: Path) -> None:
        from watchkeeper.errorstore import ErrorStore

        db = data.parent / f"{data.name}-errors" / "errors.db"
        if not db.exists():
            raise click.UsageError(f"no error data for {data} (expected {db})")
        self.store = ErrorStore(db)

    def groups(self, status: str | None, limit: int, sort: str) -> list[dict[str, Any]]:
        return self.store.groups(status, limit, 0, sort)

    def group(self, gid: str) -> dict[str, Any]:
        from watchkeeper.errorstore import UnknownGroup

        try:
            return self.store.group(gid, with_samples=True)
        except UnknownGroup:
            raise click.ClickException(f"no error group {gid!r}") from None

    def act(self, gid: str, action: str) -> dict[str, Any]:
        from watchkeeper.errorstore import ACTIONS, UnknownGroup

        try:
            return self.store.set_status(gid, ACTIONS[action])
        except UnknownGroup:
            raise click.ClickException(f"no error group {gid!r}") from None


class _Remote:
    def __init__(self, server: Any) -> None:
        self.server = server

    def _data(self, method: str, path: str, **kwargs: Any) -> Any:
        from .remote import decode

        return decode(self.server.request(method, path, timeout=10, **kwargs))["data"]

    def groups(self, status: str | None, limit: int, sort: str) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit, "sort": sort}
        if status:
            params["status"] = status
        return self._data("GET", "/api/v1/errors", params=params)

    def group(self, gid: str) -> dict[str, Any]:
        return self._data("GET", f"/api/v1/errors/{gid}")

    def act(self, gid: str, action: str) -> dict[str, Any]:
        return self._data("POST", f"/api/v1/errors/{gid}/{action}")


def _backend(ctx: click.Context) -> _Local | _Remote:
    source = group_source(ctx)
    return _Local(source) if isinstance(source, Path) else _Remote(source)


def _ago(ts: float | None) -> str:
    if not ts:
        return "-"
    seconds = max(0, int(time.time() - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


@click.group(invoke_without_command=True)
@click.option("--data", type=click.Path(path_type=Path), envvar="WATCHKEEPER_DATA",
              help="watchkeeper's data directory.")
@click.option("--url", help="A running watchkeeper server, e.g. http://127.0.0.1:9797.")
@auth_options
@click.pass_context
def errors(ctx: click.Context, data: Path | None, url: str | None, token: str | None,
           user: str | None) -> None:
    """Error groups: list, show one (samples, why grouped), resolve, ignore, reopen."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_groups)


@errors.command("list")
@click.option("--status", type=click.Choice(["open", "resolved", "ignored"]))
@click.option("--sort", type=click.Choice(["last_seen", "first_seen", "count"]),
              default="last_seen", show_default=True)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_groups(ctx: click.Context, status: str | None = None, sort: str = "last_seen",
                limit: int = 50, as_json: bool = False) -> None:
    """Error groups, most recent first."""
    rows = _backend(ctx).groups(status, limit, sort)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no error groups")
        return
    click.echo(f"{'GROUP':16}  {'STATUS':9} {'COUNT':>7} {'USERS':>6}  {'LAST SEEN':10}  TITLE")
    for r in rows:
        status_text = r["status"] + ("!" if r["regressed"] else "")
        click.echo(f"{r['id']:16}  {status_text:9} {r['count']:>7} {r['users']:>6}  "
                   f"{_ago(r['last_seen']):10}  {r['title'][:80]}")


@errors.command("show")
@click.argument("group")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx: click.Context, group: str, as_json: bool) -> None:
    """One group: counts, routes, why its events share it, and the latest sample."""
    g = _backend(ctx).group(group)
    if as_json:
        click.echo(json.dumps(g, indent=2))
        return
    click.echo(f"{g['id']}  {g['title']}")
    click.echo(f"  status {g['status']}{' (regressed)' if g['regressed'] else ''}, "
               f"{g['count']} events, ~{g['users']} users, first seen "
               f"{_ago(g['first_seen'])}, last seen {_ago(g['last_seen'])}")
    if g.get("last_release"):
        click.echo(f"  releases {g.get('first_release')} .. {g['last_release']}")
    for route, n in (g.get("routes") or {}).items():
        click.echo(f"  route {route or '(none)'}: {n}")
    click.echo(f"  {g['explanation']['text']}")
    for frame in g["explanation"].get("frames") or []:
        click.echo(f"    {frame}")
    samples = g.get("samples") or []
    if samples:
        click.echo(f"  latest of {len(samples)} samples:")
        for value in (samples[0].get("exception") or {}).get("values") or []:
            for f in (value.get("stacktrace") or {}).get("frames") or []:
                mark = " " if f.get("in_app") else "."
                click.echo(f"   {mark} {f.get('module')}.{f.get('function')} "
                           f"line {f.get('lineno')}")
            click.echo(f"    {value.get('type')}: {value.get('value')}")


def _act(ctx: click.Context, group: str, action: str) -> None:
    g = _backend(ctx).act(group, action)
    click.echo(f"error group {g['id']} is now {g['status']}")


@errors.command("resolve")
@click.argument("group")
@click.pass_context
def resolve(ctx: click.Context, group: str) -> None:
    """Mark a group resolved (it reopens as a regression if it comes back)."""
    _act(ctx, group, "resolve")


@errors.command("ignore")
@click.argument("group")
@click.pass_context
def ignore(ctx: click.Context, group: str) -> None:
    """Ignore a group (still counted, never a regression)."""
    _act(ctx, group, "ignore")


@errors.command("reopen")
@click.argument("group")
@click.pass_context
def reopen(ctx: click.Context, group: str) -> None:
    """Reopen a resolved or ignored group."""
    _act(ctx, group, "reopen")
