"""PDF from the report's HTML through its print CSS, by a headless Chromium or Chrome
(the page carries everything, so the browser fetches nothing). No Python dependency: the
browser is found on PATH or named by ``WATCHKEEPER_CHROMIUM``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSER_ENV = "WATCHKEEPER_CHROMIUM"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class PdfError(RuntimeError):
    """No browser to print with, or it failed."""


def browser() -> str:
    named = os.environ.get(BROWSER_ENV)
    if named:
        return named
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError(f"printing a PDF needs Chromium or Chrome on PATH (or {BROWSER_ENV}); "
                   "or write --format html and print it from any browser")


def html_to_pdf(html: str, out: Path, timeout: float = 90.0) -> None:
    """Print ``html`` to ``out`` (A4, no browser header or footer)."""
    exe = browser()
    with tempfile.TemporaryDirectory(prefix="wk-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        target = Path(out).resolve()
        args = [exe, "--headless", "--disable-gpu", "--no-first-run",
                f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer",
                "--print-to-pdf-no-header", f"--print-to-pdf={target}", page.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root otherwise
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PdfError(f"{exe} could not print: {e}") from None
        if done.returncode != 0 or not target.exists() or target.stat().st_size == 0:
            raise PdfError(f"{exe} could not print (exit {done.returncode}): "
                           f"{done.stderr.strip()[-300:]}")
