"""``watchkeeper check-rules FILE...``: validate Prometheus rule files as
``promtool check rules`` does, exiting 1 if any file has a problem."""

from __future__ import annotations

import click


@click.command("check-rules")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def check_rules(files: tuple[str, ...]) -> None:
    """Validate rule files: YAML shape, PromQL expressions, names and templates."""
    from watchkeeper.alerting.rules import RuleFileError, load_rule_file

    failed = False
    for path in files:
        click.echo(f"Checking {path}")
        try:
            groups = load_rule_file(path)
        except RuleFileError as e:
            failed = True
            click.echo("  FAILED:\n" + "\n".join(f"{path}: {p}" for p in e.problems), err=True)
            continue
        except (OSError, UnicodeDecodeError) as e:
            failed = True
            click.echo(f"  FAILED:\n{path}: {e}", err=True)
            continue
        count = sum(len(g.rules) for g in groups)
        click.echo(f"  SUCCESS: {count} rules found")
    raise SystemExit(1 if failed else 0)
