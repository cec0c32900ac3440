"""Asking a running server instead of this host: what ``--url`` means on every command.

``health``, ``metrics``, ``stats``, ``query`` and ``alerts`` share one client, the same
credential flags and the same wording when the server cannot be reached or refuses them.
Secrets come from the environment or a prompt; they never appear in an error message (a
URL is shown without its user info).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

TOKEN_ENV = "WATCHKEEPER_TOKEN"
USER_ENV = "WATCHKEEPER_USER"
PASSWORD_ENV = "WATCHKEEPER_PASSWORD"

F = TypeVar("F", bound=Callable[..., Any])


def auth_options(command: F) -> F:
    """``--token`` and ``--user``: credentials for the server ``--url`` names."""
    command = click.option(
        "--user", envvar=USER_ENV, show_envvar=True, metavar="NAME",
        help=f"Basic auth user for --url; the password comes from {PASSWORD_ENV} "
             "or a prompt.")(command)
    return click.option(
        "--token", envvar=TOKEN_ENV, show_envvar=True, metavar="TOKEN",
        help="Bearer token for --url (prefer the environment variable: a command line "
             "is visible to other users).")(command)


class ServerError(click.ClickException):
    """The server did not answer, refused the credentials, or answered something else."""


def shown(url: str) -> str:
    """The URL without user info, for messages."""
    import httpx

    try:
        return str(httpx.URL(url).copy_with(userinfo=b""))
    except (httpx.InvalidURL, TypeError):
        return "the given URL"


class Server:
    """One server (or endpoint) and the credentials to ask it with; a context manager
    that keeps one connection for a ``--watch`` loop."""

    def __init__(self, url: str, token: str | None = None, user: str | None = None,
                 password: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.user = user
        self.password = password
        self._client: Any = None

    @classmethod
    def from_options(cls, url: str, token: str | None, user: str | None) -> Server:
        """Credentials from the flags; the password from the environment or a prompt."""
        if token and user:
            raise click.UsageError("give --token or --user, not both")
        password = None
        if user:
            password = os.environ.get(PASSWORD_ENV)
            if password is None:
                password = click.prompt(f"Password for {user}", hide_input=True, err=True)
        return cls(url, token, user, password)

    def _http(self) -> Any:
        import httpx

        if self._client is None:
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            auth = httpx.BasicAuth(self.user, self.password or "") if self.user else None
            self._client = httpx.Client(headers=headers, auth=auth, follow_redirects=True)
        return self._client

    def request(self, method: str, path: str = "", *, timeout: float = 30.0,
                **kwargs: Any) -> Any:
        """The server's response to ``path`` (joined to the URL); ``ServerError`` when
        there is none or it asks for credentials."""
        import httpx

        url = self.url + path
        try:
            response = self._http().request(method, url, timeout=timeout, **kwargs)
        except httpx.InvalidURL as e:
            raise ServerError(f"not a usable URL: {e}") from None
        except httpx.HTTPError as e:
            raise ServerError(f"cannot fetch {shown(url)}: {e or type(e).__name__}") from None
        if response.status_code == 401:
            if self.token or self.user:
                raise ServerError(f"{shown(url)} refused the credentials given")
            raise ServerError(f"{shown(url)} needs credentials: --token (or {TOKEN_ENV}) "
                              f"or --user")
        return response

    def get_json(self, path: str, *, params: dict[str, Any] | None = None,
                 timeout: float = 30.0, statuses: tuple[int, ...] = (200,)) -> Any:
        """The decoded JSON answer of a GET, which must come with one of ``statuses``."""
        response = self.request("GET", path, params=params, timeout=timeout)
        return decode(response, statuses)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decode(response: Any, statuses: tuple[int, ...] = (200,)) -> Any:
    """The JSON body of ``response``; ``ServerError`` naming the status otherwise."""
    url = shown(str(response.url))
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code not in statuses:
        error = body.get("error") if isinstance(body, dict) else None
        raise ServerError(f"{url} answered HTTP {response.status_code}"
                          + (f": {error}" if error else ""))
    if body is None:
        raise ServerError(f"{url} did not answer JSON")
    return body


def group_source(ctx: click.Context) -> Server | Any:
    """What a command group's ``--url`` or ``--data`` option names, for its subcommands:
    a :class:`Server` for a URL, else the data folder as a ``Path``."""
    from pathlib import Path

    found: click.Context | None = ctx
    while found is not None and "url" not in found.params:
        found = found.parent
    opts = found.params if found is not None else {}
    if opts.get("url"):
        return Server.from_options(opts["url"], opts.get("token"), opts.get("user"))
    data = opts.get("data")
    if data is None:
        raise click.UsageError("give --data DIR (or WATCHKEEPER_DATA) or --url URL")
    return Path(data)
