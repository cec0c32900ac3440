"""``watchkeeper check-config FILE``: validate a serve config and do nothing else,
exiting 1 with ``file:line:column: what is wrong`` if it has a problem."""

from __future__ import annotations

import click


@click.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False))
def check_config(file: str) -> None:
    """Validate a watchkeeper serve config file (YAML)."""
    from watchkeeper.config import ConfigError, load_config
    from watchkeeper.config.secrets import redact_urls

    try:
        loaded = load_config(file)
    except ConfigError as e:
        click.echo(f"FAILED: {redact_urls(str(e))}", err=True)
        raise SystemExit(1) from None
    config = loaded.config
    for warning in loaded.warnings:
        click.echo(f"WARNING: {redact_urls(warning)}", err=True)
    checks = "default" if loaded.checks is None else str(len(loaded.checks))
    click.echo(f"SUCCESS: {file}: {len(config.scrape_configs)} scrape configs, "
               f"{checks} health checks, {len(loaded.dashboards)} dashboards, "
               f"storage at {config.storage.path}, "
               f"listening on {config.web.listen_address}")
