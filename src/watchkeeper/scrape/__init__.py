"""Scraping: targets (static and file SD), relabeling, limits and the per-target loop."""

from .manager import ScrapeManager, TargetState
from .relabel import relabel
from .scraper import ScrapeResult, scrape
from .targets import Discovery, DroppedTarget, FileSD, Target, discover, resolve_targets

__all__ = ["Discovery", "DroppedTarget", "FileSD", "ScrapeManager", "ScrapeResult", "Target",
           "TargetState", "discover", "relabel", "resolve_targets", "scrape"]
