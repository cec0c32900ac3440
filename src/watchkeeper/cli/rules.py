"""``watchkeeper rules``: which alert and recording rules a config loads, and from where.

The default packs count as loaded even without a config file, as ``watchkeeper serve``
loads them; ``--url`` asks a running server instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .remote import auth_options


def load_groups(config_path: str | None) -> list[Any]:
    """The rule groups ``watchkeeper serve -c config_path`` would load (click errors)."""
    from watchkeeper.alerting.rules import RuleFileError
    from watchkeeper.alerting.service import configured_groups
    from watchkeeper.config.loader import (
        ConfigError,
        alerting_section,
        default_config,
        load_config,
    )

    try:
        loaded = load_config(config_path) if config_path else default_config()
        base = Path(config_path).parent if config_path else Path(".")
        return configured_groups(alerting_section(loaded.config), base)
    except (ConfigError, RuleFileError, ValueError, OSError) as e:
        raise click.ClickException(str(e)) from None


def _rows_from_groups(groups: list[Any]) -> list[dict[str, Any]]:
    from watchkeeper.alerting.rules import format_duration_ms

    return [{"group": g.name, "name": r.name, "type": "alerting" if r.alert else "recording",
             "for": format_duration_ms(r.for_ms) if r.alert else "",
             "severity": r.labels.get("severity", ""),
             "source": f"pack {g.pack}" if g.pack else g.file}
            for g in groups for r in g.rules]


def _rows_from_api(body: dict[str, Any]) -> list[dict[str, Any]]:
    from watchkeeper.alerting.packs import PACK_DIR
    from watchkeeper.alerting.rules import format_duration_ms

    rows = []
    for g in body.get("data", {}).get("groups", []):
        path = Path(g.get("file", ""))
        source = f"pack {path.stem}" if path.parent == PACK_DIR else str(path)
        for r in g.get("rules", []):
            alerting = r.get("type") == "alerting"
            rows.append({"group": g["name"], "name": r["name"],
                         "type": r.get("type", ""), "state": r.get("state", ""),
                         "for": format_duration_ms(int(r.get("duration", 0) * 1000))
                         if alerting else "",
                         "severity": r.get("labels", {}).get("severity", ""),
                         "source": source})
    return rows


@click.group("rules")
def rules() -> None:
    """Alert and recording rules: what is loaded and where each came from."""


@rules.command("list")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
              help="A watchkeeper serve config (default: the built-in defaults).")
@click.option("--url", envvar="WATCHKEEPER_URL", help="Ask a running server instead.")
@auth_options
@click.option("--json", "as_json", is_flag=True, help="One JSON list.")
def list_rules(config_path: str | None, url: str | None, token: str | None, user: str | None,
               as_json: bool) -> None:
    """Every rule with its group, type, for, severity and source (pack name or file)."""
    if url:
        from .remote import Server, decode

        server = Server.from_options(url, token, user)
        rows = _rows_from_api(decode(server.request("GET", "/api/v1/rules", timeout=10)))
    else:
        rows = _rows_from_groups(load_groups(config_path))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None)
    columns = ["group", "name", "type", "for", "severity", "source"]
    if url:
        columns.insert(3, "state")
    for column in columns:
        table.add_column(column.upper())
    for row in rows:
        table.add_row(*(escape(str(row[c])) for c in columns))
    console = Console() if sys.stdout.isatty() else Console(width=250)
    console.print(table if rows else "no rules")


@rules.command("packs")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
              help="A watchkeeper serve config: mark the packs it enables.")
def list_packs(config_path: str | None) -> None:
    """The rule packs that ship with watchkeeper, and which ones load."""
    from watchkeeper.alerting.packs import DEFAULT_PACKS, available_packs, load_pack

    enabled = {g.pack for g in load_groups(config_path)}
    for name in available_packs():
        count = sum(len(g.rules) for g in load_pack(name))
        mark = "enabled" if name in enabled else "off"
        default = " (default)" if name in DEFAULT_PACKS else ""
        click.echo(f"{name:<20} {count:>3} rules  {mark}{default}")
