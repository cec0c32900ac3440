"""Reading live workers' files at every scrape, without decoding what did not change.

Value files are append-only and an entry never moves, so the collector remembers each
file's layout (which sample sits at which offset) under the file's id. A scrape then
reads the file's bytes, picks all known values out in one C call, and decodes only the
entries appended since the last scrape.
"""

from __future__ import annotations

import dataclasses
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter

from .aggregate import Aggregate, SampleKey
from .files import ENTRY_HEAD, HEADER_SIZE, read_header
from .merge import combine, parse_key

_NATIVE_LITTLE = sys.byteorder == "little"
_SUMMED_GAUGES = frozenset({"sum", "livesum"})


@dataclass
class Layout:
    """What is known of one file: its id, how far it was decoded, where each value sits."""

    file_id: bytes
    end: int = HEADER_SIZE
    damaged: bool = False  # an entry was skipped as garbage
    pending: bool = False  # decoding stopped at a bad spot, to be tried again
    retry: list[int] = field(default_factory=list)  # bad entries given one more chance
    sample_keys: list[SampleKey] = field(default_factory=list)
    docs: dict[str, str] = field(default_factory=dict)
    slots: list[int] = field(default_factory=list)  # value offset // 8
    pick: Callable[[object], tuple[float, ...]] | None = None

    def values(self, data: bytes) -> tuple[float, ...]:
        if self.pick is None:
            self.pick = _picker(self.slots)
        if _NATIVE_LITTLE:
            return self.pick(memoryview(data)[: len(data) & ~7].cast("d"))
        return tuple(struct.unpack_from("<d", data, s * 8)[0] for s in self.slots)


def _picker(slots: list[int]) -> Callable[[object], tuple[float, ...]]:
    if len(slots) == 1:
        only = slots[0]
        return lambda doubles: (doubles[only],)
    if not slots:
        return lambda doubles: ()
    return itemgetter(*slots)


class FileReader:
    """Keeps layouts between scrapes; one per collector."""

    def __init__(self) -> None:
        self._layouts: dict[str, Layout] = {}
        # key bytes -> ((metric, sample, labels), help text), for well-formed keys only
        self._keys: dict[bytes, tuple[SampleKey, str]] = {}

    def forget_missing(self, names: set[str]) -> None:
        for gone in self._layouts.keys() - names:
            del self._layouts[gone]

    def layout(self, name: str, pid: str, per_pid: bool, data: bytes) -> Layout | None:
        """The file's layout, extended to its current end; None if it is not a value file."""
        header = read_header(data)
        if header is None:
            self._layouts.pop(name, None)
            return None
        file_id, used, truncated = header
        layout = self._layouts.get(name)
        if layout is None or layout.file_id != file_id or layout.end > used:
            layout = self._layouts[name] = Layout(file_id)
        if layout.retry:
            self._recheck(layout, data, pid, per_pid)
        if used > layout.end:
            self._extend(layout, data, used, pid, per_pid)
        if truncated:
            return dataclasses.replace(layout, damaged=True)
        return layout

    def _extend(self, layout: Layout, data: bytes, used: int, pid: str, per_pid: bool) -> None:
        """Decode the entries appended since the last scrape (see ``files.scan_entries``).

        A key seen before in any file is known good, so only new keys pay for the crc
        check and the JSON decoding.
        """
        keys = self._keys
        if len(keys) > 200_000:
            keys.clear()
        unpack_head = ENTRY_HEAD.unpack_from
        sample_keys, slots, docs = layout.sample_keys, layout.slots, layout.docs
        pos = layout.end
        layout.pending = False
        while pos + 8 <= used:
            key_len, crc = unpack_head(data, pos)
            size = 24 + ((key_len + 7) & ~7)
            if key_len == 0 or pos + size > used:
                layout.pending = True  # read again from here next time
                break
            key = data[pos + 8 : pos + 8 + key_len]
            known = keys.get(key)
            if known is None:
                parsed = parse_key(key) if zlib.crc32(key) == crc else None
                if parsed is None:
                    # Perhaps not yet visible whole to this process: looked at again
                    # at the next scrape, skipped for good if still bad then.
                    layout.retry.append(pos)
                    pos += size
                    continue
                metric, sample, labels, doc = parsed
                known = keys[key] = ((metric, sample, labels), doc)
            skey, doc = known
            if per_pid:
                skey = (skey[0], skey[1], tuple(sorted((*skey[2], ("pid", pid)))))
            if skey[0] not in docs:
                docs[skey[0]] = doc
            sample_keys.append(skey)
            slots.append((pos + size - 16) >> 3)
            pos += size
        layout.pick = None
        layout.end = pos


    def _recheck(self, layout: Layout, data: bytes, pid: str, per_pid: bool) -> None:
        """Entries that were bad at the last scrape: take them if whole now, else drop."""
        retry, layout.retry = layout.retry, []
        for pos in retry:
            key_len, crc = ENTRY_HEAD.unpack_from(data, pos)
            key = data[pos + 8 : pos + 8 + key_len]
            parsed = parse_key(key) if zlib.crc32(key) == crc else None
            if parsed is None:
                layout.damaged = True  # garbage for good
                continue
            metric, sample, labels, doc = parsed
            if per_pid:
                labels = tuple(sorted((*labels, ("pid", pid))))
            layout.docs.setdefault(metric, doc)
            layout.sample_keys.append((metric, sample, labels))
            layout.slots.append((pos + 8 + ((key_len + 7) & ~7)) >> 3)
        layout.pick = None


def merge_layout(into: Aggregate, typ: str, mode: str, layout: Layout, data: bytes) -> None:
    """Fold one file's current values into ``into``."""
    families = into.families
    for metric, doc in layout.docs.items():
        if metric not in families:
            families[metric] = (typ, mode, doc)
    samples = into.samples
    values = layout.values(data)
    if typ != "gauge" or mode in _SUMMED_GAUGES:
        for skey, value in zip(layout.sample_keys, values, strict=True):
            current = samples.get(skey)
            if current is None:
                samples[skey] = [value, 0.0]
            else:
                current[0] += value
        return
    stamps = Layout(layout.file_id, slots=[s + 1 for s in layout.slots]).values(data)
    for skey, value, ts in zip(layout.sample_keys, values, stamps, strict=True):
        current = samples.get(skey)
        if current is None:
            samples[skey] = [value, ts]
        else:
            combine(current, value, ts, typ, mode)
