"""Rule packs: Prometheus rule files shipped inside the package, one per ``NAME.yml`` here.

Why files and not Python: a pack is exactly what a user would put in ``rule_files``, so it
passes ``promtool check rules`` as it is and can be copied into a Prometheus unchanged.
The packs in ``DEFAULT_PACKS`` load unless ``default_rules: {enabled: false}``; any other
pack is one config line away (``rule_packs: [NAME]``). Dropping a file in this folder is
all it takes to add a pack.
"""

from __future__ import annotations

from pathlib import Path

from watchkeeper.alerting.rules import RuleGroup, load_rule_file

PACK_DIR = Path(__file__).parent
DEFAULT_PACKS: list[str] = ["defaults", "errors"]


class PackError(ValueError):
    """An unknown pack name; says which packs exist."""


def available_packs() -> list[str]:
    """Every pack in the folder, by name (the file name without ``.yml``)."""
    return sorted(p.stem for p in PACK_DIR.glob("*.yml"))


def pack_path(name: str) -> Path:
    path = PACK_DIR / f"{name}.yml"
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise PackError(f"no rule pack {name!r}; available: {', '.join(available_packs())}")
    return path


def load_pack(name: str) -> list[RuleGroup]:
    """The groups of one pack, each marked with the pack it came from."""
    groups = load_rule_file(pack_path(name))
    for group in groups:
        group.pack = name
    return groups


def enabled_packs(rule_packs: list[str] | None = None, defaults: bool = True) -> list[str]:
    """The packs to load: the default ones (unless turned off), then those asked for."""
    names = (list(DEFAULT_PACKS) if defaults else []) + list(rule_packs or [])
    return list(dict.fromkeys(names))


__all__ = ["DEFAULT_PACKS", "PACK_DIR", "PackError", "available_packs", "enabled_packs",
           "load_pack", "pack_path"]
