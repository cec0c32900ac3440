"""Reports kept on disk, so a webhook or a chat message can carry a link instead of the
page: ``<data>-reports/NAME-YYYYMMDDTHHMMZ.html`` beside the store, the oldest dropped past
``KEEP`` per name."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

KEEP = 60
FILE = re.compile(r"^([A-Za-z0-9_.-]{1,64})-(\d{8}T\d{4}Z)\.html$")


class Archive:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def save(self, name: str, html: str, when: float) -> str:
        """Write the page; returns its file name."""
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y%m%dT%H%MZ")
        filename = f"{name}-{stamp}.html"
        tmp = self.folder / f".{filename}.tmp"
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(self.folder / filename)
        mine = [p for p in self.listing() if p["report"] == name]  # newest first
        for old in mine[KEEP:]:
            (self.folder / old["file"]).unlink(missing_ok=True)
        return filename

    def listing(self) -> list[dict[str, Any]]:
        """Every kept report, newest first."""
        if not self.folder.is_dir():
            return []
        out = []
        for p in self.folder.iterdir():
            m = FILE.match(p.name)
            if m:
                out.append({"file": p.name, "report": m.group(1), "bytes": p.stat().st_size,
                            "time": dt.datetime.strptime(m.group(2), "%Y%m%dT%H%MZ")
                            .replace(tzinfo=dt.UTC).timestamp()})
        return sorted(out, key=lambda r: (-r["time"], r["file"]))

    def path(self, filename: str) -> Path | None:
        """The file of a kept report, or None (names outside the pattern never reach the
        file system)."""
        if not FILE.match(filename):
            return None
        p = self.folder / filename
        return p if p.is_file() else None
