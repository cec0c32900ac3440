"""``watchkeeper report``: a period's report as HTML, Markdown or PDF, from the embedded
store (``--data``) or a running server (``--url``)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .remote import Server, auth_options

FORMATS = ("html", "md", "pdf")


@click.command("report")
@click.option("--period", default="7d", show_default=True,
              help="How far back from --end: a PromQL duration (24h, 7d, 30d).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="html (inline SVG charts, print CSS), md, or pdf (printed by a headless "
                   "Chromium or Chrome). Default: from --out's suffix, else md.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output; pdf needs a file).")
@click.option("--end", "end", help="The period's end: unix seconds, RFC 3339, -1d (default: "
                                   "now).")
@click.option("--title", default="", help="The report's title.")
@click.option("--data", type=click.Path(path_type=Path), envvar="WATCHKEEPER_DATA",
              default=Path("watchkeeper-data"), show_default=True,
              help="The embedded store's folder (its alert history and error store beside "
                   "it are read too).")
@click.option("--url", help="A running watchkeeper server, e.g. http://127.0.0.1:9797 "
                            "(it builds the report).")
@auth_options
def report(period: str, fmt: str | None, out: Path | None, end: str | None, title: str,
           data: Path, url: str | None, token: str | None, user: str | None) -> None:
    """Availability, alerts, golden signals week over week, anomalies and changes,
    capacity, store and scrape health and error groups of a period; every number with the
    query that produced it."""
    from watchkeeper.reports.period import parse_period

    fmt = fmt or {".html": "html", ".htm": "html", ".pdf": "pdf"}.get(
        out.suffix.lower() if out else "", "md")
    if fmt == "pdf" and out is None:
        raise click.UsageError("--format pdf needs --out FILE")
    try:
        parse_period(period)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--period") from None
    end_s = _end(end)
    clock = time.perf_counter()
    if url:
        text = _remote(Server.from_options(url, token, user), period, end_s, title,
                       "md" if fmt == "md" else "html")
    else:
        text = _local(data, period, end_s, title, fmt)
    if fmt == "pdf":
        from watchkeeper.reports.pdf import PdfError, html_to_pdf

        assert out is not None
        try:
            html_to_pdf(text, out)
        except PdfError as e:
            raise click.ClickException(str(e)) from None
    elif out is None:
        click.echo(text, nl=False)
        return
    else:
        out.write_text(text, encoding="utf-8")
    size = out.stat().st_size
    click.echo(f"wrote {out} ({size / 1024:.0f} KiB, {fmt}) in "
               f"{time.perf_counter() - clock:.2f} s", err=True)


def _end(text: str | None) -> float | None:
    if text is None:
        return None
    from .query import _time_ms

    try:
        ms = _time_ms(text, int(time.time() * 1000))
    except click.ClickException as e:
        raise click.BadParameter(e.message, param_hint="--end") from None
    return None if ms is None else ms / 1000.0


def _local(data: Path, period: str, end: float | None, title: str, fmt: str) -> str:
    from watchkeeper.reports import build_report, open_local, render_html, render_markdown
    from watchkeeper.tsdb import TSDBError

    if not data.exists():
        raise click.ClickException(f"no store at {data} (give --data DIR or --url URL)")
    try:
        source, close = open_local(data)
    except (TSDBError, OSError) as e:
        raise click.ClickException(f"cannot open the store at {data}: {e} (while "
                                   "`watchkeeper serve` holds it, ask it: --url)") from None
    try:
        built = build_report(source, period, end, title)
    finally:
        close()
    return render_markdown(built) if fmt == "md" else render_html(built)


def _remote(server: Server, period: str, end: float | None, title: str, fmt: str) -> str:
    from .remote import ServerError, shown

    params = {"period": period, "format": fmt}
    if end is not None:
        params["end"] = f"{end:.3f}"
    if title:
        params["title"] = title
    with server:
        response = server.request("GET", "/api/v1/report", params=params, timeout=120.0)
    if response.status_code != 200:
        try:
            error = response.json().get("error", "")
        except ValueError:
            error = ""
        raise ServerError(f"{shown(server.url)} answered HTTP {response.status_code}"
                          + (f": {error}" if error else ""))
    return response.text
