"""Email through SMTP (smtplib): one message per notification, text body."""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from watchkeeper.alerting.receivers.base import DeliveryError, Integration


def render_email(payload: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body: the status, the group, and each alert with its annotations."""
    firing = [a for a in payload["alerts"] if a["status"] == "firing"]
    resolved = [a for a in payload["alerts"] if a["status"] == "resolved"]
    group = " ".join(f"{k}={v}" for k, v in sorted(payload["groupLabels"].items()))
    subject = f"[{payload['status'].upper()}"
    subject += f":{len(firing)}] " if firing else "] "
    subject += group or payload["commonLabels"].get("alertname", "alerts")
    lines = []
    for title, alerts in (("Firing", firing), ("Resolved", resolved)):
        if alerts:
            lines.append(f"{title}:")
        for a in alerts:
            labels = ", ".join(f"{k}={v}" for k, v in sorted(a["labels"].items()))
            lines.append(f"  - {labels}  (since {a['startsAt']})")
            lines += [f"      {k}: {v}" for k, v in sorted(a["annotations"].items())]
    return subject, "\n".join(lines) + "\n"


class EmailIntegration(Integration):
    kind = "email"

    def __init__(self, integration_id: str, config: Mapping[str, Any]) -> None:
        super().__init__(integration_id, config)
        for key in ("to", "from", "smarthost"):
            if not self.config.get(key):
                raise ValueError(f"{integration_id}: email needs {key}")
        self.send_resolved = bool(self.config.get("send_resolved", False))
        host, _, port = str(self.config["smarthost"]).rpartition(":")
        self.host, self.port = host or str(self.config["smarthost"]), int(port or 25)

    def send(self, payload: Mapping[str, Any]) -> None:
        subject, body = render_email(payload)
        message = EmailMessage()
        message["Subject"], message["From"] = subject, self.config["from"]
        message["To"] = self.config["to"]
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.config.get("require_tls", False):
                    smtp.starttls()
                if self.config.get("auth_username"):
                    smtp.login(self.config["auth_username"], self.config.get("auth_password", ""))
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as e:
            raise DeliveryError(f"email {self.host}:{self.port}: {e}", retry=False) from None
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryError(f"email {self.host}:{self.port}: {e}") from None
