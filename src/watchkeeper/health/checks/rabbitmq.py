"""RabbitMQ over AMQP 0-9-1: connect, authenticate, open a channel."""

from __future__ import annotations

from typing import Any

from ..check import Check
from ..model import CheckError, Outcome, Status
from . import import_driver


class RabbitMQCheck(Check):
    type = "rabbitmq"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 5672,
        username: str = "guest",
        password: str = "guest",
        virtual_host: str = "/",
        **common: Any,
    ) -> None:
        common.setdefault("name", "rabbitmq")
        super().__init__(**common)
        self.host, self.port, self.vhost = host, port, virtual_host
        self.username, self.password = username, password

    def check(self) -> Outcome:
        pika = import_driver("pika", "rabbitmq")
        where = f"amqp://{self.username}@{self.host}:{self.port}{_vhost(self.vhost)}"
        params = pika.ConnectionParameters(
            host=self.host, port=self.port, virtual_host=self.vhost,
            credentials=pika.PlainCredentials(self.username, self.password),
            connection_attempts=1, socket_timeout=self.timeout, stack_timeout=self.timeout,
            blocked_connection_timeout=self.timeout,
        )
        errors = pika.exceptions
        try:
            conn = pika.BlockingConnection(params)
        except errors.ProbableAuthenticationError:
            raise CheckError(f"RabbitMQ {where}: authentication failed (wrong username or "
                             f"password)") from None
        except errors.ProbableAccessDeniedError:
            raise CheckError(f"RabbitMQ {where}: access to virtual host {self.vhost!r} "
                             f"denied") from None
        except errors.AMQPError as e:
            raise CheckError(f"cannot connect to RabbitMQ {where}: {_reason(e)}") from None
        try:
            channel = conn.channel()
            channel.close()
            props = getattr(conn._impl, "server_properties", {}) or {}
            version = props.get("version", b"?")
            version = version.decode() if isinstance(version, bytes) else str(version)
        except errors.AMQPError as e:
            raise CheckError(f"RabbitMQ {where}: cannot open a channel: {_reason(e)}") from None
        finally:
            try:
                conn.close()
            except errors.AMQPError:
                pass
        return Outcome(Status.HEALTHY, f"RabbitMQ {version} accepted a channel",
                       measurement="connection", component_type="component")


def _vhost(vhost: str) -> str:
    return vhost if vhost.startswith("/") else "/" + vhost


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())
    while not text and error.args and isinstance(error.args[0], BaseException):
        error = error.args[0]
        text = " ".join(str(error).split())
    if not text or text == "()":
        text = type(error).__name__
    return text
