"""Scheduled reports: a real ``watchkeeper serve`` sends one to a real local webhook (with
a link to the kept page), a real SMTP server (HTML inline) and Apprise; the cron loop fires
on its minute; ``watchkeeper report --url`` asks the same server."""

from __future__ import annotations

import asyncio
import email
import sys
import time
from email import policy
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from planted import STEP, plant

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "alerting"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from receiver_server import WebhookReceiver
from serve_process import ServeProcess

from peers import free_port

TOKEN = "tok-report-1"
pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def smtp():
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, received
    controller.stop()


@pytest.fixture(scope="module")
def hooks():
    webhook, apprise = WebhookReceiver(), WebhookReceiver()
    yield webhook, apprise
    webhook.close()
    apprise.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, smtp, hooks):
    work = tmp_path_factory.mktemp("scheduled")
    plant(work / "data", float(int(time.time()) // STEP * STEP))
    webhook, apprise = hooks
    config = {
        "collect_host": False,
        # no default checks: on a loaded machine the CPU load check fails and, not the
        # planted db check, becomes the report's lowest availability
        "checks": [],
        "web": {"auth": {"bearer_tokens": [TOKEN]}},
        "alerting": {"receivers": [
            {"name": "ops",
             "webhook_configs": [{"url": webhook.url}],
             "email_configs": [{"to": "ops@example.org", "from": "wk@example.org",
                                "smarthost": f"127.0.0.1:{smtp[0]}"}],
             "apprise_configs": [{"urls": [f"json://127.0.0.1:{apprise.port}/notify"]}]}]},
        "reports": [{"name": "weekly", "schedule": "0 8 * * mon", "period": "7d",
                     "receivers": ["ops"], "title": "Ops weekly"}],
    }
    proc = ServeProcess(work, config, headers={"Authorization": f"Bearer {TOKEN}"})
    with proc:
        yield proc


def test_a_scheduled_report_reaches_webhook_email_and_apprise(server, smtp, hooks):
    webhook, apprise = hooks
    r = server.client.post("/api/v1/reports/weekly/send", timeout=120)
    assert r.status_code == 200, r.text
    outcome = r.json()["data"]
    assert set(outcome["delivered"].values()) == {"sent"}, outcome
    assert len(outcome["delivered"]) == 3
    # the webhook gets a link, and the link serves the kept page (behind the same auth)
    [body] = webhook.wait(1)
    assert body["kind"] == "report" and body["title"] == "Ops weekly"
    assert body["url"] == f"{server.url}/reports/{outcome['file']}"
    assert any(line.startswith("lowest availability: db 98.8%")
               for line in body["summary"]), body["summary"]
    assert httpx.get(body["url"]).status_code == 401
    page = server.client.get(body["url"])
    assert page.status_code == 200 and "<svg" in page.text and "Ops weekly" in page.text
    # email: one message, the HTML inline as the alternative to the Markdown
    _, received = smtp
    [envelope] = received
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"].startswith("Ops weekly (")
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "<svg" in html and "<script" not in html
    assert "## Availability" in text and body["url"] in text
    # apprise: the headline and the link
    [note] = apprise.wait(1)
    assert note["title"] == "Ops weekly" and body["url"] in note["message"]
    listed = server.client.get("/api/v1/reports").json()["data"]
    assert [r["file"] for r in listed] == [outcome["file"]]
    sent = 'watchkeeper_reports_sent_total{report="weekly",integration="ops/email/0"} 1'
    server.wait_until(lambda: sent in server.client.get("/metrics").text, 20,
                      "the delivery counted in /metrics")


def test_unknown_schedule_is_a_404(server):
    r = server.client.post("/api/v1/reports/nope/send")
    assert r.status_code == 404 and "nope" in r.json()["error"]


def test_the_cli_asks_the_server_with_url_and_token(server):
    from watchkeeper.cli.main import cli

    result = CliRunner().invoke(cli, ["report", "--url", server.url, "--format", "md"],
                                env={"WATCHKEEPER_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert "| db | 98.8% |" in result.output
    result = CliRunner().invoke(cli, ["report", "--url", server.url],
                                env={"WATCHKEEPER_TOKEN": ""})
    assert result.exit_code != 0 and "needs credentials" in result.output


def _scheduler(name, cron, source, receiver, tmp_path, clock):
    """One schedule sending a 1-day report to one webhook, on the given clock."""
    from types import SimpleNamespace

    from watchkeeper.reports.archive import Archive
    from watchkeeper.reports.schedule import ReportScheduler

    schedule = SimpleNamespace(name=name, schedule=cron, timezone="UTC", period="1d",
                               receivers=["hook"], title="")
    return schedule, ReportScheduler(
        lambda: [schedule],
        lambda: {"hook": {"name": "hook", "webhook_configs": [{"url": receiver.url}]}},
        lambda: source, Archive(tmp_path / "kept"), lambda: "http://example.invalid",
        clock=clock)


def test_the_cron_loop_fires_on_its_minute(planted, tmp_path):
    """The scheduler's own loop, with its clock set 1.5 s before a minute: the schedule
    `* * * * *` fires once, and the next firing is planned a minute later."""
    from watchkeeper.reports import open_local

    data, _ = planted
    source, close = open_local(data)
    receiver = WebhookReceiver()
    now = time.time()
    offset = (now // 60 + 1) * 60 - 1.5 - now
    _, scheduler = _scheduler("minutely", "* * * * *", source, receiver, tmp_path,
                              clock=lambda: time.time() + offset)

    async def run_until_sent() -> None:
        task = asyncio.create_task(scheduler.run())
        try:
            for _ in range(300):
                if receiver.bodies:
                    return
                await asyncio.sleep(0.1)
        finally:
            task.cancel()

    try:
        asyncio.run(run_until_sent())
    finally:
        receiver.close()
        close()
    [body] = receiver.bodies
    assert body["report"] == "minutely" and body["period"] == "1d"
    fired_at = body["end"]
    assert fired_at % 60 < 5  # at the minute, by the scheduler's clock
    [(_, nxt)] = scheduler.next.items()
    assert nxt == pytest.approx((fired_at // 60 + 1) * 60)


def test_a_failed_delivery_is_retried_with_backoff_then_given_up(planted, tmp_path):
    """A webhook answering 500 gets the report again after 1 minute, 2, 4, ... (by the
    scheduler's clock); once it answers, the retry is gone; failing for 12 hours gives up.
    The next firing replaces a retry still owed."""

    from watchkeeper.reports import open_local
    from watchkeeper.reports.schedule import RETRY_FOR

    data, _ = planted
    source, close = open_local(data)
    hook = WebhookReceiver(status=500)
    t = [time.time()]
    schedule, scheduler = _scheduler("daily", "0 8 * * *", source, hook, tmp_path,
                                     clock=lambda: t[0])

    def pending() -> list[str]:
        fam = [f for f in scheduler.collect() if f.name == "watchkeeper_reports_retry_pending"]
        return [s.labels["report"] for s in fam[0].samples]

    try:
        first = asyncio.run(scheduler.fire(schedule))
        [(key, result)] = first.delivered.items()
        assert "500" in result and pending() == ["daily"]
        assert asyncio.run(scheduler.retry_due()) == {}  # not yet: a minute first
        t[0] += 61
        [failed_again] = asyncio.run(scheduler.retry_due()).values()
        assert "500" in failed_again
        t[0] += 61  # the second retry waits two minutes
        assert asyncio.run(scheduler.retry_due()) == {}
        hook.status = 200
        t[0] += 60
        assert list(asyncio.run(scheduler.retry_due()).values()) == ["sent"]
        [body] = hook.bodies
        assert body["report"] == "daily" and body["file"] == first.file  # the same page
        assert pending() == [] and scheduler.failed[("daily", key)] == 2
        assert scheduler.sent[("daily", key)] == 1

        hook.status = 500
        asyncio.run(scheduler.fire(schedule))
        second = asyncio.run(scheduler.fire(schedule))  # replaces the retry still owed
        assert scheduler.retries[("daily", key)].message[4] == second.file
        start = t[0]
        while scheduler.retries and t[0] - start < 2 * RETRY_FOR:
            t[0] = min(r.due for r in scheduler.retries.values())
            asyncio.run(scheduler.retry_due())
        assert not scheduler.retries and scheduler.given_up[("daily", key)] == 1
        assert RETRY_FOR - 1800 <= t[0] - start <= RETRY_FOR
        assert len(hook.bodies) == 1  # nothing recorded while failing
    finally:
        hook.close()
        close()
