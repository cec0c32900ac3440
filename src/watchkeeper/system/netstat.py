"""Protocol counters (/proc/net/netstat, snmp, snmp6) as ``node_netstat_<Proto>_<Field>``.

Only the fields node_exporter exports by default: errors, TCP connection and segment
counts, listen drops, SYN cookies, UDP datagrams and buffer errors, IP octets.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator

from watchkeeper.metrics.family import Metric

from ._families import single

# node_exporter 1.5's default for --collector.netstat.fields.
NETSTAT_FIELDS = (
    r"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)"
    r"|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)"
    r"|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)"
    r"|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$"
)
_SNMP6_PROTOCOL = re.compile(r"^(Ip6|Icmp6|Udp6|UdpLite6)(.+)$")


def parse_header_pairs(text: str) -> dict[tuple[str, str], str]:
    """/proc/net/netstat and snmp: a line of names then a line of values per protocol."""
    stats: dict[tuple[str, str], str] = {}
    lines = text.splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        protocol, _, name_list = names.partition(":")
        _, _, value_list = values.partition(":")
        for name, value in zip(name_list.split(), value_list.split(), strict=False):
            stats[protocol, name] = value
    return stats


def parse_snmp6(text: str) -> dict[tuple[str, str], str]:
    """/proc/net/snmp6: ``Ip6InOctets 123`` per line."""
    stats: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            key = _snmp6_key(parts[0])
            if key is not None:
                stats[key] = parts[1]
    return stats


@functools.lru_cache(maxsize=512)
def _snmp6_key(name: str) -> tuple[str, str] | None:
    m = _SNMP6_PROTOCOL.match(name)
    return (m.group(1), m.group(2)) if m else None


class NetstatCollector:
    """One untyped family per selected protocol statistic, as node_exporter has them."""

    def __init__(self, procfs: str = "/proc", fields: str = NETSTAT_FIELDS) -> None:
        self._procfs = procfs
        self._fields = re.compile(fields)
        self._selected: dict[tuple[str, str], bool] = {}  # the kernel's field set is fixed

    def collect(self) -> Iterator[Metric]:
        stats: dict[tuple[str, str], str] = {}
        for name, parser in (("netstat", parse_header_pairs), ("snmp", parse_header_pairs),
                             ("snmp6", parse_snmp6)):
            try:
                with open(os.path.join(self._procfs, "net", name)) as f:
                    stats.update(parser(f.read()))
            except OSError:
                continue
        selected = self._selected
        for pair, value in stats.items():
            wanted = selected.get(pair)
            if wanted is None:
                wanted = selected[pair] = bool(self._fields.match("_".join(pair)))
            if not wanted:
                continue
            protocol, field = pair
            try:
                number = float(value)
            except ValueError:
                continue
            yield single(f"node_netstat_{protocol}_{field}", f"Statistic {protocol}{field}.",
                         "unknown", number)
