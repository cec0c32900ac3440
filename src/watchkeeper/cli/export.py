"""``watchkeeper export ...``: definitions and data out to other tools."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("export")
def export() -> None:
    """Export watchkeeper's definitions for other tools."""


@export.command("grafana-dashboard")
@click.argument("ids", nargs=-1)
@click.option("-f", "--file", "files", multiple=True, type=click.Path(dir_okay=False),
              help="Dashboard YAML to add to the built-in ones (repeatable).")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
              help="A watchkeeper serve config: add the dashboards it names.")
@click.option("-o", "--output", type=click.Path(),
              help="File for one dashboard, or a directory for one file each (default: stdout).")
@click.option("--datasource-uid", help="Fix the Prometheus data source uid instead of a variable.")
def grafana_dashboard(ids: tuple[str, ...], files: tuple[str, ...], config_path: str | None,
                      output: str | None, datasource_uid: str | None) -> None:
    """Grafana dashboard JSON of IDS (default: every dashboard), for a Prometheus data source
    pointed at watchkeeper."""
    from watchkeeper.config.loader import ConfigError, load_config
    from watchkeeper.dashboard.panels import DashboardError, all_dashboards, load_dashboards
    from watchkeeper.export.grafana import grafana_dashboard as to_grafana

    try:
        extra = load_config(config_path).dashboards if config_path else []
        extra += [d for path in files for d in load_dashboards(path)]
    except (DashboardError, ConfigError) as e:
        raise click.ClickException(str(e)) from None
    known = {d.id: d for d in all_dashboards(extra)}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise click.ClickException(f"no dashboard {', '.join(map(repr, unknown))}; "
                                   f"known: {', '.join(known)}")
    chosen = [known[i] for i in ids] if ids else list(known.values())
    docs = {d.id: to_grafana(d, datasource_uid) for d in chosen}
    if output and (Path(output).is_dir() or len(docs) > 1):
        Path(output).mkdir(parents=True, exist_ok=True)
        for ident, doc in docs.items():
            target = Path(output) / f"watchkeeper-{ident}.json"
            target.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            click.echo(f"wrote {target}", err=True)
        return
    text = json.dumps(next(iter(docs.values())) if len(docs) == 1 else list(docs.values()),
                      indent=2)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


@export.command("rules")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
              help="A watchkeeper serve config (default: the built-in defaults).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="File to write (default: stdout).")
def rules(config_path: str | None, output: str | None) -> None:
    """The effective alert and recording rules (packs after disable and override, plus
    rule_files) as one Prometheus rule file: `promtool check rules` loads it."""
    from watchkeeper.alerting.rule_export import rule_file_text

    from .rules import load_groups

    text, skipped = rule_file_text(load_groups(config_path))
    for reason in skipped:
        click.echo(f"skipped {reason}", err=True)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
