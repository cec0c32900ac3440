"""``watchkeeper alerts``: open alerts, history, acknowledge, resolve, silences.

Works on a data directory (``--data``, the one ``watchkeeper serve`` uses) or on a running
server (``--url``), through the same incident and silence APIs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .remote import auth_options, group_source


class _Local:
    def __init__(self, data: Path) -> None:
        from watchkeeper.alerting.history import AlertHistory
        from watchkeeper.alerting.silences import SilenceStore

        # serve keeps alerting beside the store's directory: <data>-alerting/
        candidates = [data.parent / f"{data.name}-alerting" / "alerting.db",
                      data / "alerting.db"]
        db = next((c for c in candidates if c.exists()), None)
        if db is None:
            raise click.UsageError(f"no alerting data for {data} (expected {candidates[0]})")
        self.history, self.silences = AlertHistory(db), SilenceStore(db)

    def incidents(self, **filters: Any) -> list[dict[str, Any]]:
        return self.history.list(**filters)

    def act(self, action: str, incident: int, who: str, comment: str) -> dict[str, Any]:
        method = self.history.acknowledge if action == "ack" else self.history.resolve
        return method(incident, who, comment)

    def silence_list(self) -> list[dict[str, Any]]:
        now = int(time.time() * 1000)
        return [s.to_api(now) for s in self.silences.list()]

    def silence_add(self, body: dict[str, Any]) -> str:
        from watchkeeper.alerting.silences import silence_from_api
        return self.silences.put(silence_from_api(body))

    def silence_expire(self, silence_id: str) -> bool:
        return self.silences.expire(silence_id)


class _Remote:
    """The same calls through a running server's incident and silence APIs."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def _data(self, method: str, path: str, **kwargs: Any) -> Any:
        from .remote import decode

        body = decode(self.server.request(method, path, timeout=10, **kwargs))
        return body.get("data", body) if isinstance(body, dict) else body

    def incidents(self, state: str | None = None, severity: str | None = None,
                  start_ms: int | None = None, end_ms: int | None = None,
                  matchers: list[Any] | None = None, limit: int = 500) -> list[dict[str, Any]]:
        from watchkeeper.alerting.silences import iso
        params: dict[str, Any] = {"limit": limit}
        if state:
            params["state"] = state
        if severity:
            params["severity"] = severity
        if start_ms is not None:
            params["start"] = iso(start_ms)
        if matchers:
            params["match[]"] = [str(m) for m in matchers]
        return self._data("GET", "/api/v1/incidents", params=params)

    def act(self, action: str, incident: int, who: str, comment: str) -> dict[str, Any]:
        return self._data("POST", f"/api/v1/incidents/{incident}/{action}",
                          json={"by": who, "comment": comment})

    def silence_list(self) -> list[dict[str, Any]]:
        return self._data("GET", "/api/v2/silences")

    def notification_hint(self) -> str:
        """The server's word when nobody gets its notifications ("" if someone does)."""
        try:
            return str(self._data("GET", "/api/v1/notifications").get("hint", ""))
        except (click.ClickException, AttributeError):
            return ""  # an older server, or one without alerting

    def silence_add(self, body: dict[str, Any]) -> str:
        return self._data("POST", "/api/v2/silences", json=body)["silenceID"]

    def silence_expire(self, silence_id: str) -> bool:
        return self.server.request("DELETE", f"/api/v2/silence/{silence_id}",
                                   timeout=10).status_code == 200


def _backend(ctx: click.Context) -> _Local | _Remote:
    source = group_source(ctx)
    return _Local(source) if isinstance(source, Path) else _Remote(source)


def _when(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _show_incidents(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None)
    for column in ("ID", "STATE", "SEVERITY", "ALERT", "LABELS", "STARTED", "ACK", "RESOLVED"):
        table.add_column(column)
    colours = {"firing": "red", "pending": "yellow", "resolved": "green"}
    for r in rows:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(r["labels"].items())
                           if k not in ("alertname", "severity"))
        state = r["state"]
        table.add_row(str(r["id"]), f"[{colours.get(state, 'white')}]{state}[/]",
                      escape(r["severity"]), escape(r["rule"]), escape(labels),
                      _when(r["started_ms"]), escape(r["acked_by"] or "-"),
                      escape(f"{_when(r['resolved_ms'])} by {r['resolved_by']}"
                             if r["resolved_ms"] else "-"))
    # piped output keeps whole lines rather than the 80 columns rich assumes
    console = Console() if sys.stdout.isatty() else Console(width=250)
    console.print(table if rows else "no alerts")


def _since_ms(text: str | None) -> int | None:
    if not text:
        return None
    from watchkeeper.alerting.rules import parse_duration_ms
    try:
        return int(time.time() * 1000) - parse_duration_ms(text)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _matchers(items: tuple[str, ...]) -> list[Any]:
    from watchkeeper.alerting.routing import RoutingConfigError, parse_matchers
    try:
        return parse_matchers({"matchers": list(items)})
    except RoutingConfigError as e:
        raise click.BadParameter(str(e)) from None


@click.group(invoke_without_command=True)
@click.option("--data", type=click.Path(path_type=Path), envvar="WATCHKEEPER_DATA",
              help="watchkeeper's data directory.")
@click.option("--url", help="A running watchkeeper server, e.g. http://127.0.0.1:9797.")
@auth_options
@click.pass_context
def alerts(ctx: click.Context, data: Path | None, url: str | None, token: str | None,
           user: str | None) -> None:
    """Open alerts, their history, acknowledgement, resolution and silences."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_alerts)


@alerts.command("list")
@click.option("--severity", help="Only this severity.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_alerts(ctx: click.Context, severity: str | None = None, as_json: bool = False) -> None:
    """Alerts pending or firing now."""
    backend = _backend(ctx)
    rows = [r for state in ("firing", "pending")
            for r in backend.incidents(state=state, severity=severity)]
    _show_incidents(rows, as_json)
    hint = backend.notification_hint() if isinstance(backend, _Remote) and rows else ""
    if hint and not as_json:
        click.echo(f"note: {hint}", err=True)


@alerts.command()
@click.option("--state", type=click.Choice(["pending", "firing", "resolved"]))
@click.option("--severity")
@click.option("--since", help="Only incidents open within this duration, e.g. 24h.")
@click.option("--match", "match", multiple=True, help='Label matcher, e.g. job="api".')
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def history(ctx: click.Context, state: str | None, severity: str | None, since: str | None,
            match: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Every incident, newest first, with filters."""
    rows = _backend(ctx).incidents(state=state, severity=severity, start_ms=_since_ms(since),
                                   matchers=_matchers(match), limit=limit)
    _show_incidents(rows, as_json)


def _act(ctx: click.Context, action: str, incident: int, by: str | None, comment: str) -> None:
    from watchkeeper.alerting.history import IncidentError
    who = by or os.environ.get("USER") or "cli"
    try:
        result = _backend(ctx).act(action, incident, who, comment)
    except IncidentError as e:
        raise click.ClickException(str(e)) from None
    verb = "acknowledged" if action == "ack" else "resolved"
    click.echo(f"incident {result['id']} ({result['rule']}) {verb} by {who}")


@alerts.command()
@click.argument("incident", type=int)
@click.option("--by", help="Who (default: $USER).")
@click.option("--comment", "-m", default="")
@click.pass_context
def ack(ctx: click.Context, incident: int, by: str | None, comment: str) -> None:
    """Acknowledge incident ID."""
    _act(ctx, "ack", incident, by, comment)


@alerts.command()
@click.argument("incident", type=int)
@click.option("--by", help="Who (default: $USER).")
@click.option("--comment", "-m", default="")
@click.pass_context
def resolve(ctx: click.Context, incident: int, by: str | None, comment: str) -> None:
    """Resolve incident ID by hand."""
    _act(ctx, "resolve", incident, by, comment)


@alerts.group()
def silence() -> None:
    """Add, list and expire silences."""


@silence.command("add")
@click.argument("matchers", nargs=-1, required=True)
@click.option("--duration", default="1h", show_default=True)
@click.option("--comment", "-m", required=True)
@click.option("--by", help="Who (default: $USER).")
@click.pass_context
def silence_add(ctx: click.Context, matchers: tuple[str, ...], duration: str, comment: str,
                by: str | None) -> None:
    """Silence alerts matching every MATCHER (e.g. alertname=DiskFull 'job=~"api.*"')."""
    from watchkeeper.alerting.rules import parse_duration_ms
    from watchkeeper.alerting.silences import SilenceError, iso
    parsed = _matchers(matchers)
    now = int(time.time() * 1000)
    try:
        ends = now + parse_duration_ms(duration)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    body = {"matchers": [{"name": m.name, "value": m.value, "isRegex": "~" in m.op,
                          "isEqual": not m.op.startswith("!")} for m in parsed],
            "startsAt": iso(now), "endsAt": iso(ends), "comment": comment,
            "createdBy": by or os.environ.get("USER") or "cli"}
    try:
        click.echo(_backend(ctx).silence_add(body))
    except SilenceError as e:
        raise click.ClickException(str(e)) from None


@silence.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def silence_list(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """Silences, active and pending (all with --all)."""
    rows = [s for s in _backend(ctx).silence_list()
            if show_all or s["status"]["state"] != "expired"]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for s in rows:
        matchers = ",".join(f"{m['name']}{'' if m.get('isEqual', True) else '!'}"
                            f"{'=~' if m['isRegex'] else '='}\"{m['value']}\""
                            for m in s["matchers"])
        click.echo(f"{s['id']}  {s['status']['state']:8} {{{matchers}}}  until {s['endsAt']}  "
                   f"by {s['createdBy']}: {s['comment']}")
    if not rows:
        click.echo("no silences")


@silence.command("expire")
@click.argument("silence_id")
@click.pass_context
def silence_expire(ctx: click.Context, silence_id: str) -> None:
    """Expire silence SILENCE_ID now."""
    if not _backend(ctx).silence_expire(silence_id):
        raise click.ClickException(f"no silence {silence_id}")
    click.echo(f"expired {silence_id}")
