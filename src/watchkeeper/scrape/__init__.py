"""Scraping: targets (static and file SD), relabeling, limits and the per-target loop."""

from .manager import ScrapeManager, TargetState
from .relabel import relabel
from .scraper import ScrapeResult, scrape
from .targets import FileSD, Target, resolve_targets

__all__ = ["FileSD", "ScrapeManager", "ScrapeResult", "Target", "TargetState",
           "relabel", "resolve_targets", "scrape"]
