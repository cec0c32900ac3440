"""Relabeling as Prometheus does it: replace, keep, drop, labeldrop, labelkeep, labelmap
and hashmod.

Regexes are anchored at both ends (``^(?:...)$``) and ``$1``/``${1}`` in replacements refer
to groups, as in Prometheus. A label set left without ``__name__`` by metric relabeling is
dropped by the caller. ``hashmod`` hashes exactly as Prometheus does (the last eight bytes of
the MD5 of the joined source labels, big-endian, modulo ``modulus``), so scrapers sharded
with it split targets exactly as Prometheus servers with the same config would.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

from watchkeeper.config import RelabelConfig

_GROUP_REF = re.compile(r"\$\{(\w+)\}|\$(\d+)")


@lru_cache(maxsize=1024)
def _anchored(pattern: str) -> re.Pattern[str]:
    return re.compile(f"^(?:{pattern})$")


def _expand(template: str, match: re.Match[str]) -> str:
    def group(m: re.Match[str]) -> str:
        ref = m.group(1) or m.group(2)
        try:
            return match.group(int(ref) if ref.isdigit() else ref) or ""
        except (IndexError, re.error):
            return ""
    return _GROUP_REF.sub(group, template)


def hashmod(value: str, modulus: int) -> int:
    """The shard of ``value`` among ``modulus`` shards, as Prometheus computes it."""
    digest = hashlib.md5(value.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % modulus


def relabel(labels: dict[str, str], configs: Sequence[RelabelConfig]) -> dict[str, str] | None:
    """The relabeled label set, or None if a keep/drop step dropped it."""
    for cfg in configs:
        regex = _anchored(cfg.regex)
        if cfg.action in ("labeldrop", "labelkeep"):
            keep = cfg.action == "labelkeep"
            labels = {k: v for k, v in labels.items() if bool(regex.match(k)) == keep}
            continue
        if cfg.action == "labelmap":
            mapped = dict(labels)
            for name, value in labels.items():
                if found := regex.match(name):
                    mapped[_expand(cfg.replacement, found)] = value
            labels = mapped
            continue
        value = cfg.separator.join(labels.get(name, "") for name in cfg.source_labels)
        match = regex.match(value)
        if cfg.action == "keep":
            if not match:
                return None
        elif cfg.action == "drop":
            if match:
                return None
        elif cfg.action == "hashmod" and cfg.target_label:
            labels = {**labels, cfg.target_label: str(hashmod(value, cfg.modulus))}
        elif cfg.action == "replace" and match and cfg.target_label:
            target = _expand(cfg.target_label, match)
            result = _expand(cfg.replacement, match)
            labels = dict(labels)
            if result:
                labels[target] = result
            else:
                labels.pop(target, None)
    return labels
