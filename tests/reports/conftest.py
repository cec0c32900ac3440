"""A planted store (two weeks of a small service) for the report tests, and a real
headless Chromium to open reports in."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planted import STEP, plant

from peers import require_binary


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """(data folder, the period's end): planted once, read by every test."""
    end = float(int(time.time()) // STEP * STEP)
    data = tmp_path_factory.mktemp("report") / "data"
    plant(data, end)
    return data, end


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_binary("chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()
