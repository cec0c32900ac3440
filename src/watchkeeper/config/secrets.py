"""One notion of a secret in the config, and a redactor for everything that leaves the server.

A secret is: a ``SecretStr``; a field whose name says so (passwords, tokens, API and routing
keys, DSNs, credentials, ``Authorization`` and cookie headers); the ``user:password@`` part of
any URL; the query values of any URL (webhook and HTTP-check URLs carry tokens there); and
the whole URL of an incoming-webhook receiver (Slack, Teams, Discord, Apprise URLs carry
their token in the path). Each renders as ``<secret>``, as Prometheus and Alertmanager do.

``Redactor`` holds the secret values of one config and hides them (and any ``user:pass@``
or query value of a URL) in any text: log lines, error messages, responses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

REDACTED = "<secret>"
MIN_SECRET_LENGTH = 6  # shorter values are hidden where their field is known, not in text

_SECRET_KEY = re.compile(r"pass(word|wd)?$|passwd|password|token|secret|credential|"
                         r"api_?key|routing_key|service_key|dsn|authorization|cookie",
                         re.IGNORECASE)
_NOT_SECRET_KEY = re.compile(r"_file$|_files$|^token_url$", re.IGNORECASE)
_WHOLE_URL_KEYS = frozenset({"api_url", "webhook_url", "urls"})
_WHOLE_URL_PARENTS = frozenset({"webhook_configs", "apprise_configs", "slack_configs",
                                "msteams_configs", "discord_configs", "webex_configs",
                                "telegram_configs", "pushover_configs"})
_ALL_SECRET_CONTAINERS = frozenset({"basic_auth_users", "bearer_tokens"})
_HEADER_CONTAINERS = frozenset({"headers", "http_headers"})
_SECRET_HEADER = re.compile(r"auth|token|key|cookie|secret|session|signature", re.IGNORECASE)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>`]+")
_KEYWORD = re.compile(r"\b(password|passwd|pwd|token|secret|api_?key|access_key)=([^\s&'\",;]+)",
                      re.IGNORECASE)


def is_secret_path(path: tuple[Any, ...]) -> bool:
    """Is the value at ``path`` (mapping keys and list indexes) a secret as a whole?"""
    keys = [str(p) for p in path if not isinstance(p, int)]
    if not keys:
        return False
    key = keys[-1]
    if any(k in _ALL_SECRET_CONTAINERS for k in keys):
        return True
    if len(keys) > 1 and keys[-2] in _HEADER_CONTAINERS:
        return bool(_SECRET_HEADER.search(key))
    if key in _WHOLE_URL_KEYS or (key == "url" and any(k in _WHOLE_URL_PARENTS for k in keys)):
        return True
    return bool(_SECRET_KEY.search(key)) and not _NOT_SECRET_KEY.search(key)


def _urlish(path: tuple[Any, ...]) -> bool:
    """Is ``path`` a URL field (``url``, ``urls``, ``*_url``, ``alertmanagers``), whose query
    values count as secrets in any text? Elsewhere (a dashboard's links) they are data."""
    keys = [str(p) for p in path if not isinstance(p, int)]
    return bool(keys) and (keys[-1] in ("url", "urls", "alertmanagers", "dsn")
                           or keys[-1].endswith("_url"))


def _url_secrets(url: str) -> tuple[str, list[str]]:
    """The URL with its userinfo and query values hidden, and the hidden parts."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, []
    found: list[str] = []
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        found += [userinfo, password, user] if password else [userinfo]
        netloc = f"{REDACTED}@{host}"
    query = parts.query
    if query:
        pairs = []
        for item in query.split("&"):
            key, sep, value = item.partition("=")
            if sep and value:
                found.append(value)
                pairs.append(f"{key}={REDACTED}")
            else:
                pairs.append(item)
        query = "&".join(pairs)
    if not found:
        return url, []
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)), found


def redact_urls(text: str) -> str:
    """``text`` with every URL's userinfo and query values, and ``password=``-style
    keywords (libpq DSNs), shown as ``<secret>``."""
    text = _URL.sub(lambda m: _url_secrets(m.group(0))[0], text)
    return _KEYWORD.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def redact_config(value: Any, path: tuple[Any, ...] = ()) -> Any:
    """A copy of a config tree (dicts, lists, scalars, ``SecretStr``) safe to show."""
    if isinstance(value, dict):
        return {k: redact_config(v, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_config(v, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, SecretStr):
        return REDACTED if value.get_secret_value() else ""
    if isinstance(value, str):
        if is_secret_path(path):
            return REDACTED if value else value
        return redact_urls(value)
    return value


def secret_values(value: Any, path: tuple[Any, ...] = ()) -> set[str]:
    """Every secret string of a config tree, as the redactor must find them in text."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out |= secret_values(v, (*path, str(k)))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            out |= secret_values(v, (*path, i))
    elif isinstance(value, SecretStr | str):
        text = _plain(value)
        if isinstance(value, SecretStr) or is_secret_path(path):
            out.add(text)
            for m in _URL.finditer(text):  # a whole-URL secret, also as its parts appear
                out.update(_url_secrets(m.group(0))[1])
                tail = urlsplit(m.group(0))
                out.add(tail.path.rstrip("/") + (f"?{tail.query}" if tail.query else ""))
        else:
            for m in _URL.finditer(text):
                parts = urlsplit(m.group(0)) if "@" in m.group(0) else None
                if _urlish(path):
                    out.update(_url_secrets(m.group(0))[1])
                elif parts is not None and "@" in parts.netloc:
                    out.update(_url_secrets(f"{parts.scheme}://{parts.netloc}")[1])
        out.update(m.group(2) for m in _KEYWORD.finditer(text))
    return {v for v in out if v}


def _literal_pattern(values: list[bytes]) -> Any:
    """One pattern for many literals: RE2's automaton when the server extra brought it
    (linear, several times faster on big bodies), else ``re``."""
    if not values:
        return None
    try:
        import re2  # type: ignore[import-not-found]

        return re2.compile(b"|".join(re2.escape(v) for v in values))
    except Exception:
        return re.compile(b"|".join(re.escape(v) for v in values))


class Redactor:
    """Hides a config's secret values, and any URL's userinfo and query values, in text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values = sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH},
                             key=len, reverse=True)
        self._text = re.compile("|".join(map(re.escape, self.values))) if self.values else None
        self._bytes = _literal_pattern([v.encode() for v in self.values])

    @classmethod
    def of(cls, *trees: Any) -> Redactor:
        values: set[str] = set()
        for tree in trees:
            values |= secret_values(tree)
        return cls(values)

    def text(self, text: str) -> str:
        """Known values and URL secrets hidden: for log lines and error messages."""
        if self._text is not None:
            text = self._text.sub(REDACTED, text)
        return redact_urls(text)

    def values_only(self, data: bytes) -> bytes:
        """Only the known values hidden (a response's bytes: data that merely looks like a
        URL stays as it is)."""
        if self._bytes is None:
            return data
        return self._bytes.sub(REDACTED.encode(), data)


def config_redactor(loaded: Any) -> Redactor:
    """The redactor of a loaded config: its models, its checks' parameters."""
    config = loaded.config
    trees: list[Any] = [config.model_dump(mode="python", by_alias=True)]
    for check in loaded.checks or []:
        trees.append({"checks": [{"parameters": dict(check.parameters)}]})
    return Redactor.of(*trees)


__all__ = ["REDACTED", "Redactor", "config_redactor", "is_secret_path", "redact_config",
           "redact_urls", "secret_values"]
