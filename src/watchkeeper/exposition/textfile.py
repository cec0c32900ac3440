"""Write a registry to a file for node_exporter's textfile collector, atomically."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from .render import generate_latest


def write_to_textfile(path: str, registry: Any, tmpdir: str | None = None) -> None:
    """Render to a temporary file beside ``path`` and rename it over, so readers never see
    a half-written file."""
    directory = tmpdir or os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".watchkeeper.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(generate_latest(registry))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
