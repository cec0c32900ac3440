"""One scrape of one target: fetch within the timeout and size limit, parse, relabel, limit.

Nothing here raises: every failure becomes ``ScrapeResult.error`` (the reason the target is
down), so one bad target can never break the loop that scrapes the others.
"""

from __future__ import annotations

import asyncio
import math
import re
import ssl
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from watchkeeper.config import ScrapeConfig
from watchkeeper.exposition.parse import ParseError, parse

from .cache import CachedSamples, ScrapeCache, SeriesRefs
from .relabel import relabel
from .targets import Target

ACCEPT = ("application/openmetrics-text;version=1.0.0;q=0.5,"
          "text/plain;version=0.0.4;q=0.4,*/*;q=0.1")

Sample = tuple[dict[str, str], int, float]  # labels with __name__, timestamp ms, value
Entry = tuple[str, str, str]  # a metric's type, help and unit
_TYPE_LINE = re.compile(rb"^#[ \t]+TYPE[ \t]+(\S+)", re.MULTILINE)


@dataclass
class ScrapeResult:
    """What one scrape produced; ``error`` set means the target is down."""

    samples: list[Sample] | CachedSamples = field(default_factory=list)
    scraped: int = 0
    post_relabel: int = 0
    duration: float = 0.0
    error: str | None = None
    started: float = 0.0
    metadata: dict[str, Entry] = field(default_factory=dict)
    # the samples came from the target's scrape cache (``samples`` is a CachedSamples): the
    # series are those of the scrape that filled it, in the same order; ``refs`` is where
    # their store handles are kept
    cached: bool = False
    refs: SeriesRefs | None = None


class LimitExceeded(Exception):
    pass


def make_client(job: ScrapeConfig) -> httpx.AsyncClient:
    """An HTTP client carrying the job's auth and TLS settings."""
    headers = {"Accept": ACCEPT, "User-Agent": "watchkeeper"}
    auth = None
    if job.basic_auth is not None:
        password = ""
        if job.basic_auth.password is not None:
            password = job.basic_auth.password.get_secret_value()
        elif job.basic_auth.password_file:
            password = Path(job.basic_auth.password_file).read_text().strip()
        auth = httpx.BasicAuth(job.basic_auth.username, password)
    token = None
    if job.bearer_token is not None:
        token = job.bearer_token.get_secret_value()
    elif job.bearer_token_file:
        token = Path(job.bearer_token_file).read_text().strip()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    tls = job.tls_config
    verify: ssl.SSLContext | bool = True
    if tls.insecure_skip_verify:
        verify = False
    elif tls.ca_file or tls.cert_file:
        context = ssl.create_default_context(cafile=tls.ca_file)
        if tls.cert_file and tls.key_file:
            context.load_cert_chain(tls.cert_file, tls.key_file)
        verify = context
    return httpx.AsyncClient(headers=headers, auth=auth, verify=verify,
                             follow_redirects=False, trust_env=False)


async def _fetch(client: httpx.AsyncClient, target: Target) -> tuple[bytes, str]:
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": f"{target.timeout:g}"}
    limit = target.job.body_size_limit
    async with client.stream("GET", target.url, headers=headers,
                             timeout=target.timeout) as response:
        if response.status_code != 200:
            raise httpx.HTTPStatusError(f"server returned HTTP status {response.status_code}",
                                        request=response.request, response=response)
        declared = response.headers.get("content-length", "")
        if limit and declared.isdigit() and int(declared) > limit:
            raise LimitExceeded(f"body size limit exceeded: {declared} > {limit} bytes")
        parts, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if limit and size > limit:
                raise LimitExceeded(f"body size limit exceeded: more than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts), response.headers.get("content-type", "")


def families_metadata(families: Iterable[Any], openmetrics: bool,
                      body: bytes = b"") -> Iterator[tuple[str, Entry]]:
    """(metric, entry) as Prometheus's scrape cache keys them: the name of the TYPE line,
    which in the text format carries a counter's ``_total``. A family with no TYPE, HELP
    or UNIT line has no metadata (``body`` tells an untyped TYPE line from none)."""
    declared: set[str] | None = None
    for family in families:
        typ = family.type if family.type != "untyped" else "unknown"
        if typ == "unknown" and not family.documentation and not family.unit:
            if declared is None:
                declared = {m.decode("utf-8", "replace") for m in _TYPE_LINE.findall(body)}
            if family.name not in declared:
                continue
        name = family.name
        if (not openmetrics and typ == "counter" and family.samples
                and all(s.name == name + "_total" for s in family.samples)):
            name += "_total"
        yield name, (typ, family.documentation, family.unit)


def _samples(body: bytes, content_type: str, target: Target, now_ms: int,
             cache: ScrapeCache | None = None) -> ScrapeResult:
    """Parse and label the body (runs in a worker thread: big bodies never block the loop).

    With ``cache``, a body whose series lines are those of the last good scrape reuses
    that scrape's labels and only reads the values (see ``cache``)."""
    job = target.job
    limit = job.sample_limit
    if limit and not job.metric_relabel_configs:
        upper = body.count(b"\n") + 1 - body.count(b"\n#") - body.startswith(b"#")
        if upper > limit * 2 + 1000:  # far over: refuse before parsing megabytes
            raise LimitExceeded(f"sample limit exceeded: about {upper} samples > {limit}")
    if cache is not None:
        hit = cache.replay(body, content_type, target)
        if hit is not None:
            last, values = hit
            vals = np.array(values, dtype=np.float64)
            if last.picks is not None:
                vals = vals[last.picks]
            cached = CachedSamples(last.kept, now_ms, vals, last.refs)
            if limit and len(cached) > limit:
                raise LimitExceeded(f"sample limit exceeded: {len(cached)} samples > {limit}")
            return ScrapeResult(cached, len(values), len(cached), metadata=last.metadata,
                                cached=True, refs=last.refs)
        cache.clear()
    families = parse(body, content_type)
    out: list[Sample] = []
    labelled: list[dict[str, str] | None] = []
    scraped = 0
    honor = job.honor_labels
    for family in families:
        for s in family.samples:
            scraped += 1
            labels = {"__name__": s.name, **s.labels}
            if job.metric_relabel_configs:
                relabeled = relabel(labels, job.metric_relabel_configs)
                if relabeled is None or not relabeled.get("__name__"):
                    labelled.append(None)
                    continue
                labels = relabeled
            for name, value in target.labels.items():
                if name in labels and not honor:
                    if labels[name]:
                        labels[f"exported_{name}"] = labels[name]
                    labels[name] = value
                elif name not in labels or not labels[name]:
                    labels[name] = value
            ts = now_ms
            if s.timestamp is not None and job.honor_timestamps and math.isfinite(s.timestamp):
                ts = int(s.timestamp * 1000)
            labels = {k: v for k, v in labels.items() if v != ""}
            labelled.append(labels)
            out.append((labels, ts, float(s.value)))
    if limit and len(out) > limit:
        raise LimitExceeded(f"sample limit exceeded: {len(out)} samples > {limit}")
    metadata = dict(families_metadata(families, "openmetrics" in content_type.lower(), body))
    if cache is not None:
        cache.fill(body, content_type, target, labelled,
                   [s for family in families for s in family.samples], metadata)
    return ScrapeResult(out, scraped, len(out), metadata=metadata)


async def scrape(client: httpx.AsyncClient, target: Target,
                 executor: Executor | None = None, cache: ScrapeCache | None = None
                 ) -> ScrapeResult:
    """Scrape ``target`` once; a failure is a result with ``error`` set, never an exception.

    Parsing runs on ``executor`` (the loop's default if None): a pool of its own keeps slow
    queries on the default pool from delaying scrapes. ``cache`` is the target's own (its
    scrapes never overlap); a failed scrape leaves it as it was, as Prometheus keeps its
    scrape cache, so a target back after a timeout costs a replay, not a full parse (under
    CPU starvation, timeouts followed by full parses of every target fed each other)."""
    started = time.time()
    clock = time.perf_counter()
    try:
        async with asyncio.timeout(target.timeout):
            body, content_type = await _fetch(client, target)
        result = await asyncio.get_running_loop().run_in_executor(
            executor, _samples, body, content_type, target, int(started * 1000), cache)
    except TimeoutError:
        result = ScrapeResult(error=f"context deadline exceeded: no complete answer within "
                                    f"{target.timeout:g}s")
    except LimitExceeded as e:
        result = ScrapeResult(error=str(e))
    except ParseError as e:
        result = ScrapeResult(error=f"invalid exposition: {e}")
    except httpx.HTTPStatusError as e:
        result = ScrapeResult(error=str(e))
    except httpx.HTTPError as e:
        result = ScrapeResult(error=f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
    except (OSError, ValueError, UnicodeError) as e:
        result = ScrapeResult(error=f"{type(e).__name__}: {e}")
    result.duration = time.perf_counter() - clock
    result.started = started
    return result
