"""The ``watchkeeper`` (alias ``wk``) command line.

Subcommands live in their own modules and are imported only when invoked, so
``watchkeeper --help`` stays fast however heavy a subcommand's imports are.
"""

from __future__ import annotations

import importlib
import sys

try:
    import click
except ImportError:  # pragma: no cover - the bare instrumentation install has no CLI deps
    click = None  # type: ignore[assignment]

# name -> ("module:attribute", one-line help shown by --help without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("watchkeeper.cli.analyze:analyze",
                "Anomaly scores and forecasts computed from data files."),
    "health": ("watchkeeper.cli.health:health", "Run health checks and show their status."),
    "mcp": ("watchkeeper.cli.mcp:mcp", "An MCP server on stdio for an LLM client."),
    "diagnose": ("watchkeeper.cli.mcp:diagnose",
                 "What is failing, what fired, what is down, what runs out first."),
    "metrics": ("watchkeeper.cli.metrics:metrics",
                "Current metrics of this host or of any /metrics endpoint."),
    "stats": ("watchkeeper.cli.stats:stats",
              "Host performance at a glance: CPU, memory, disks, network, top processes."),
    "tsdb": ("watchkeeper.cli.tsdb:tsdb", "Import, export and inspect the embedded store."),
    "serve": ("watchkeeper.cli.serve:serve",
              "Collect, scrape, check, store and answer: the monitoring server."),
    "check-config": ("watchkeeper.cli.check_config:check_config",
                     "Validate a watchkeeper serve config file."),
    "alerts": ("watchkeeper.cli.alerts:alerts",
               "Open alerts, history, ack, resolve and silences."),
    "check-rules": ("watchkeeper.cli.check_rules:check_rules",
                    "Validate Prometheus rule files as promtool check rules does."),
    "export": ("watchkeeper.cli.export:export",
               "Export dashboards as Grafana JSON and the effective rules as a rule file."),
    "rules": ("watchkeeper.cli.rules:rules",
              "Alert and recording rules: what is loaded and where each came from."),
    "errors": ("watchkeeper.cli.errors:errors",
               "Error groups: list, show (samples, why grouped), resolve, ignore."),
    "report": ("watchkeeper.cli.report:report",
               "A period's report (HTML with charts, Markdown or PDF)."),
    "query": ("watchkeeper.cli.query:query",
              "Evaluate a PromQL expression on the store or any Prometheus-compatible server."),
}


if click is not None:

    class LazyGroup(click.Group):
        """A click group whose subcommands are imported on first use."""

        def list_commands(self, ctx: click.Context) -> list[str]:
            return sorted(COMMANDS)

        def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
            target = COMMANDS.get(name)
            if target is None:
                return None
            module, _, attr = target[0].partition(":")
            return getattr(importlib.import_module(module), attr)

        def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
            if rows:
                with formatter.section("Commands"):
                    formatter.write_dl(rows)

    @click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="watchkeeper", prog_name="watchkeeper")
    def cli() -> None:
        """Monitoring and diagnostics for Python services and their hosts."""


def run() -> None:
    """Console-script entry point."""
    if click is None:
        sys.stderr.write("the watchkeeper CLI needs its extras: pip install 'watchkeeper[cli]'\n")
        raise SystemExit(2)
    cli()


if __name__ == "__main__":
    run()
