"""Reload a running server's config in place.

The new file is validated (and its health checks built) before anything changes: a bad one
leaves everything as it was, and the reason is kept in ``last_reload_error`` (and logged,
without secrets). A good one is applied part by part: auth, redaction, query limits,
external labels, health checks, remote write (only when its endpoints changed), scrape
jobs, rule files, resource limits and analysis. ``storage.path`` and
``web.listen_address`` take effect on restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from watchkeeper.analysis.resources import configure_from as configure_resources
from watchkeeper.config import ConfigError, load_config
from watchkeeper.config.secrets import Redactor, config_redactor

from .components import analysis_queries, authenticator, health_checks, start_remote_write
from .logs import protect

log = logging.getLogger("watchkeeper.server")


async def reload_config(service: Any, path: str | None) -> tuple[bool, str]:
    """Load ``path`` again into ``service``; on any problem keep the running config and
    say why. The caller holds the service's reload lock."""
    service.last_reload_time = time.time()
    if not path:
        return _failed(service, "no config file was given at startup")
    try:
        loaded = await asyncio.to_thread(load_config, path)
        checks = health_checks(service, loaded)
    except ConfigError as e:
        return _failed(service, str(e))
    if (loaded.config.storage.path != service.config.storage.path
            or loaded.config.web.listen_address != service.config.web.listen_address):
        log.warning("storage.path and web.listen_address take effect on restart")
    old = service.config
    service.loaded, service.config = loaded, loaded.config
    service.auth = authenticator(loaded)
    service.redactor = Redactor([*service.redactor.values,
                                 *config_redactor(loaded).values])  # old ones may linger
    protect(service.redactor)
    if service.engine is not None:
        service.engine.limits = service.query_limits()
    if service.ingester is not None:
        service.ingester.external_labels = dict(loaded.config.global_.external_labels)
    runner = service.runner
    for check in runner.checks():
        runner.remove(check.name)
    for check in checks:
        runner.add(check)
    if _dumped(loaded.config.remote_write) != _dumped(old.remote_write):
        await asyncio.to_thread(_reload_remote_write, service)
    if service.scraper is not None:
        await service.scraper.apply(loaded.config)
    if service.alerting is not None:
        await _reload_rules(service.alerting, loaded.config, old, path)
    configure_resources(loaded.config)
    if service.analysis is not None:
        service.analysis.queries = analysis_queries(service)
        service.analysis.interval_s = loaded.config.analysis.anomaly.interval
    service.last_reload_ok, service.last_reload_error = True, ""
    log.info("config reloaded from %s", path)
    return True, "config reloaded"


async def _reload_rules(alerting: Any, config: Any, old: Any, path: str) -> None:
    """The rule files again (relative ones beside the config file); a bad one is logged."""
    from watchkeeper.config.loader import alerting_section

    if alerting_section(config) != alerting_section(old):
        alerting.rule_files = [p if Path(p).is_absolute() else str(Path(path).parent / p)
                               for p in config.rule_files]
    try:
        await asyncio.to_thread(alerting.reload, alerting_section(config))
    except Exception as e:
        log.error("rule files not reloaded: %s", e)


def _reload_remote_write(service: Any) -> None:
    old = service.remote
    if old is None:
        service.remote = start_remote_write(service)
    else:
        service.remote = old.replace(service.config.remote_write)
        service.registry.unregister(old)
        service.registry.register(service.remote)
    log.info("remote write reloaded: %d endpoints", len(service.config.remote_write))


def _failed(service: Any, reason: str) -> tuple[bool, str]:
    reason = service.redactor.text(reason)
    service.last_reload_ok, service.last_reload_error = False, reason
    log.error("config reload failed, keeping the running config: %s", reason)
    return False, reason


def _dumped(entries: list[Any]) -> list[dict[str, Any]]:
    return [e.model_dump() for e in entries]  # (secrets compare by value)
