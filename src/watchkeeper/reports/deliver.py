"""Send a built report through the alerting receivers a schedule names: email with the
HTML inline (and the Markdown as its plain-text part), Apprise with the Markdown and the
link, a webhook with a JSON body carrying the link to the kept page.

The receivers are the ones ``alerting.receivers`` configures, built by the alerting room's
``build_integrations`` (so a report reaches the same places, with the same settings, as an
alert); only the message differs. An Alertmanager receiver takes alerts, not reports, and
is skipped. A failed delivery is logged and counted; the scheduler tries that one
integration again later (``schedule.py``), and the page stays kept, reachable by its link.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from . import fmt
from .model import Report

log = logging.getLogger("watchkeeper.reports")


def headline(report: Report) -> list[str]:
    """A few lines for a chat message: the worst check, the noisiest rule, the p95 move."""
    out = []
    checks = report.section("availability").tables[0].rows
    if checks:
        name, uptime, outages = checks[0][:3]
        out.append(f"lowest availability: {name} {fmt.value(uptime, 'percent')} "
                   f"({fmt.value(outages, 'count')} outage{'' if outages == 1 else 's'})")
    rules = report.section("alerts").tables[0].rows
    if rules:
        out.append(f"noisiest rule: {rules[0][0]}, fired {fmt.value(rules[0][1], 'count')} "
                   f"times, {fmt.duration(rules[0][2])} firing")
    for row in report.section("signals").tables[0].rows[:3]:
        out.append(f"{row[0]}: p95 {fmt.value(row[1], 'seconds')} "
                   f"({fmt.value(row[3], 'change')}), errors {fmt.value(row[4], 'percentunit')}")
    return out


def _email(integration: Any, report: Report, html: str, markdown: str, link: str) -> None:
    from watchkeeper.alerting.receivers.base import DeliveryError

    cfg = integration.config
    message = EmailMessage()
    message["Subject"] = f"{report.title} ({fmt.when(report.start)} to {fmt.when(report.end)})"
    message["From"], message["To"] = cfg["from"], cfg["to"]
    message.set_content(markdown + (f"\nThe page: {link}\n" if link else ""))
    message.add_alternative(html, subtype="html")
    try:
        with smtplib.SMTP(integration.host, integration.port, timeout=integration.timeout) as s:
            if cfg.get("require_tls", False):
                s.starttls()
            if cfg.get("auth_username"):
                s.login(cfg["auth_username"], str(cfg.get("auth_password", "")))
            s.send_message(message)
    except (OSError, smtplib.SMTPException) as e:
        raise DeliveryError(f"email {integration.host}:{integration.port}: {e}") from None


def _webhook(integration: Any, report: Report, name: str, link: str, file: str) -> None:
    import httpx

    from watchkeeper.alerting.receivers.base import DeliveryError

    body = {"kind": "report", "report": name, "title": report.title, "period": report.period,
            "start": report.start, "end": report.end, "url": link, "file": file,
            "summary": headline(report)}
    try:
        r = httpx.post(integration.url, json=body, timeout=integration.timeout,
                       headers={"Idempotency-Key": file})
    except httpx.HTTPError as e:
        raise DeliveryError(f"webhook {integration.url}: {e}") from None
    if r.status_code >= 400:
        raise DeliveryError(f"webhook {integration.url}: HTTP {r.status_code}")


def _apprise(integration: Any, report: Report, markdown: str, link: str) -> None:
    from watchkeeper.alerting.receivers.base import DeliveryError

    try:
        import apprise
    except ImportError:
        raise DeliveryError("apprise is not installed: pip install 'watchkeeper[alerting]'",
                            retry=False) from None
    notifier = apprise.Apprise()
    for url in integration.urls:
        if not notifier.add(url):
            raise DeliveryError(f"apprise cannot use URL {url.split(':', 1)[0]}://...")
    body = "\n".join(f"- {line}" for line in headline(report))
    body += f"\n\nThe report: {link}" if link else "\n\n" + markdown
    if not notifier.notify(title=report.title, body=body,
                           body_format=apprise.NotifyFormat.MARKDOWN):
        raise DeliveryError("apprise: at least one service did not accept the report")


def integrations_of(receivers: list[Mapping[str, Any]]) -> tuple[list[Any], dict[str, str]]:
    """Every integration of ``receivers``, and the error of each receiver that cannot be
    built (by its name)."""
    from watchkeeper.alerting.receivers import build_integrations

    out, bad = [], {}
    for receiver in receivers:
        try:
            out.extend(build_integrations(receiver))
        except (ValueError, KeyError, TypeError) as e:
            bad[str(receiver.get("name", ""))] = f"bad receiver: {e}"
    return out, bad


def deliver_one(integration: Any, report: Report, name: str, html: str, markdown: str,
                link: str, file: str) -> str:
    """``sent``, ``skipped`` (a kind that takes no report) or the error. Blocking."""
    try:
        if integration.kind == "email":
            _email(integration, report, html, markdown, link)
        elif integration.kind == "webhook":
            _webhook(integration, report, name, link, file)
        elif integration.kind == "apprise":
            _apprise(integration, report, markdown, link)
        else:
            return "skipped"
        return "sent"
    except Exception as e:  # one receiver's failure never stops the others
        log.warning("report %s not delivered to %s: %s", name, integration.id, e)
        return str(e) or type(e).__name__
