"""The whole server app in this process (lifespan run by Starlette's TestClient): for fuzz
suites, where a subprocess per example would be too slow."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from watchkeeper.config import parse_config
from watchkeeper.server.app import create_app
from watchkeeper.server.lifecycle import Service


@contextlib.contextmanager
def served_app(workdir: Path, config_text: str = "collect_host: false\n",
               config_path: str | None = None) -> Iterator[tuple[TestClient, Any]]:
    loaded = parse_config(config_text, config_path or "<config>")
    service = Service(loaded, data_path=str(Path(workdir) / "data"))
    with TestClient(create_app(service, config_path), raise_server_exceptions=False) as client:
        yield client, service
