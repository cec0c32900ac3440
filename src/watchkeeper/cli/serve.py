"""``watchkeeper serve``: collect, scrape, check, store and answer in one process.

With no config file it collects this host's and its own metrics every 5 s, runs the disk,
memory and CPU-load checks, keeps data in ./watchkeeper-data and listens on 127.0.0.1:9797.
"""

from __future__ import annotations

import sys

import click


@click.command("serve")
@click.option("--config", "-c", "config_file", type=click.Path(dir_okay=False),
              help="YAML config (validate it with `watchkeeper check-config`).")
@click.option("--listen", help="host:port to listen on (overrides web.listen_address).")
@click.option("--data", "data_path", help="Data directory (overrides storage.path).")
@click.option("--collect-interval", type=float,
              help="Seconds between host and self collections (>= 1).")
@click.option("--agent", is_flag=True,
              help="Agent mode: scrape, collect and forward to remote_write only (no local "
                   "history, rules or alerts), as storage.mode: agent.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
@click.option("--hash-password", is_flag=True,
              help="Read a password on stdin, print its hash for web.auth.basic_auth_users.")
def serve(config_file: str | None, listen: str | None, data_path: str | None,
          collect_interval: float | None, agent: bool, log_format: str, log_level: str,
          hash_password: bool) -> None:
    """Run the monitoring server (Ctrl-C or SIGTERM stops it after flushing the store)."""
    if hash_password:
        from watchkeeper.server.auth import hash_password as make_hash

        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise click.UsageError("no password on stdin")
        click.echo(make_hash(password))
        return
    from watchkeeper.server import allocator

    allocator.limit_arenas()  # before the server's threads start: see allocator's docstring
    from watchkeeper.config import ConfigError, default_config, load_config
    from watchkeeper.server.logs import setup_logging

    setup_logging(log_format, log_level)
    try:
        loaded = load_config(config_file) if config_file else default_config()
        updates: dict[str, object] = {}
        if listen:
            updates["listen_address"] = listen
        config = loaded.config
        if listen:
            config.web = config.web.model_validate({**config.web.model_dump(), **updates})
        if data_path or agent:
            storage = config.storage.model_dump()
            storage.update({"path": data_path} if data_path else {})
            storage.update({"mode": "agent"} if agent else {})
            config.storage = config.storage.model_validate(storage)
            if agent and not config.remote_write:
                raise ConfigError("--agent forwards everything: the config needs at least "
                                  "one remote_write entry")
        if collect_interval is not None:
            config.global_ = config.global_.model_validate(
                {**config.global_.model_dump(), "collect_interval": collect_interval})
    except ConfigError as e:
        from watchkeeper.config.secrets import redact_urls

        click.echo(f"error: {redact_urls(str(e))}", err=True)
        raise SystemExit(2) from None
    except ValueError as e:  # pydantic's ValidationError on an override
        click.echo(f"error: {' '.join(str(e).split())}", err=True)
        raise SystemExit(2) from None
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    run_server(loaded, config_file, data_path, log_level)


def run_server(loaded, config_file, data_path, log_level: str) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from watchkeeper.server.app import create_app
    from watchkeeper.server.lifecycle import Service
    from watchkeeper.tsdb import TSDBError

    service = Service(loaded, data_path=data_path)
    try:
        service.open_store()
    except (TSDBError, OSError) as e:
        click.echo(f"error: cannot open the store: {e}", err=True)
        raise SystemExit(1) from None
    web = loaded.config.web
    host, port = web.host_port
    uv = uvicorn.Config(create_app(service, config_file), host=host, port=port,
                        log_config=None, log_level=log_level, access_log=False,
                        lifespan="on", timeout_graceful_shutdown=1,
                        ssl_certfile=web.tls_cert_file, ssl_keyfile=web.tls_key_file)
    server = uvicorn.Server(uv)
    try:
        server.run()
    finally:
        if service.store is not None:
            service.store.close()  # idempotent; covers a listen failure before startup
    if not server.started:
        raise SystemExit(1)

