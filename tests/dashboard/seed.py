"""History for the page to draw: node_* host series, health status and scrape series."""

from __future__ import annotations

import numpy as np

from watchkeeper.tsdb import Store

HOSTILE_DEVICE = "<img src=x onerror=window.__pwned=1>"


def seed_host(store: Store, end_s: int, hours: float = 2, step_s: int = 15) -> int:
    """Counters and gauges as node_exporter names them, ``hours`` back from ``end_s``."""
    ts = np.arange(end_s - int(hours * 3600), end_s + 1, step_s, dtype=np.int64)
    t = (ts - ts[0]).astype(float)
    ms = ts * 1000
    wave = 0.5 + 0.4 * np.sin(t / 900)
    series = {
        (("__name__", "node_cpu_seconds_total"), ("cpu", "0"), ("mode", "idle")): t * (1 - wave),
        (("__name__", "node_cpu_seconds_total"), ("cpu", "0"), ("mode", "user")): t * wave * .7,
        (("__name__", "node_cpu_seconds_total"), ("cpu", "0"), ("mode", "system")): t * wave * .3,
        (("__name__", "node_load1"),): 1 + wave,
        (("__name__", "node_memory_MemTotal_bytes"),): np.full_like(t, 8e9),
        (("__name__", "node_memory_MemAvailable_bytes"),): 8e9 * (1 - wave * .8),
        (("__name__", "node_memory_SwapTotal_bytes"),): np.full_like(t, 2e9),
        (("__name__", "node_memory_SwapFree_bytes"),): np.full_like(t, 1.5e9),
        (("__name__", "node_filesystem_size_bytes"), ("fstype", "ext4"), ("mountpoint", "/")):
            np.full_like(t, 1e11),
        (("__name__", "node_filesystem_avail_bytes"), ("fstype", "ext4"), ("mountpoint", "/")):
            1e11 - 1e6 * t,
        (("__name__", "node_disk_read_bytes_total"), ("device", "sda")): t * 2e5 * wave,
        (("__name__", "node_disk_written_bytes_total"), ("device", "sda")): t * 5e5,
        (("__name__", "node_network_receive_bytes_total"), ("device", HOSTILE_DEVICE)): t * 1e5,
        (("__name__", "node_network_transmit_bytes_total"), ("device", "eth0")): t * 4e4,
        (("__name__", "node_network_receive_errs_total"), ("device", "eth0")): t * 0.01,
        (("__name__", "node_network_transmit_errs_total"), ("device", "eth0")): t * 0.0,
        (("__name__", "watchkeeper_health_status"), ("check", "ok")): np.ones_like(t),
        (("__name__", "watchkeeper_health_status"), ("check", "evil")):
            (np.sin(t / 120) > 0).astype(float),
        (("__name__", "watchkeeper_health_check_duration_seconds"), ("check", "ok")):
            0.01 + 0.005 * wave,
        (("__name__", "up"), ("instance", "127.0.0.1:9100"), ("job", "node")): np.ones_like(t),
    }
    for labels, values in series.items():
        store.append_array(dict(labels), ms, np.asarray(values, dtype=float))
    store.commit()
    return len(series)
