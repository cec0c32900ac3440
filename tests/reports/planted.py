"""Two weeks of a small service's history in a real store, with its alert history and
error store beside it: what a report is tested on. Every figure the tests check follows
from the constants here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DAY = 86400
STEP = 300  # seconds between planted samples
LE = ("0.05", "0.1", "0.25", "0.5", "1", "+Inf")
RPS = {"api": 10.0, "web": 2.0}  # requests per second, both weeks
SLOW = 2.0  # this week's latencies are twice last week's
ERRORS = {"api": 0.01, "web": 0.0}  # share of 5xx, this week (last week: none)
OUTAGE = (3 * DAY, 3 * DAY + 2 * 3600)  # the db check is down 2 h, three days in
FIRING = [(2 * DAY, 2 * DAY + 3600), (5 * DAY, 5 * DAY + 1800)]  # HighLatency, this week
SHIFT_AT = 6 * DAY  # memory used steps from 25 % to 75 %, a day before the end
MEMORY = 16e9
FS_SIZE = 100e9


def _fraction_below(le: str, slow: float) -> float:
    """Latencies exponential with a 0.1 s mean (x ``slow``): the share under ``le``."""
    if le == "+Inf":
        return 1.0
    return 1.0 - float(np.exp(-float(le) / (0.1 * slow)))


def plant(data: Path, end: float) -> None:
    """Fourteen days ending at ``end`` (unix seconds) into a store at ``data``."""
    from watchkeeper.tsdb.store import Store

    t = np.arange(end - 14 * DAY, end + 1, STEP, dtype=float)
    ms = (t * 1000).astype(np.int64)
    this_week = t >= end - 7 * DAY
    rel = t - (end - 7 * DAY)  # seconds into this week
    with Store.open(data, background=False) as store:
        def put(labels: dict[str, str], values: np.ndarray) -> None:
            store.append_array(labels, ms, np.asarray(values, dtype=float))

        for job, rps in RPS.items():
            base = {"job": job, "instance": f"{job}:8000"}
            n = np.full(len(t), rps * STEP)
            for le in LE:
                share = np.where(this_week, _fraction_below(le, SLOW), _fraction_below(le, 1))
                put({"__name__": "http_server_request_duration_seconds_bucket", **base,
                     "le": le, "http_response_status_code": "200"}, np.cumsum(n * share))
            put({"__name__": "http_server_request_duration_seconds_count", **base,
                 "http_response_status_code": "200"},
                np.cumsum(n * np.where(this_week, 1 - ERRORS[job], 1.0)))
            put({"__name__": "http_server_request_duration_seconds_count", **base,
                 "http_response_status_code": "500"},
                np.cumsum(n * np.where(this_week, ERRORS[job], 0.0)))
            put({"__name__": "up", **base}, np.ones(len(t)))
            put({"__name__": "scrape_duration_seconds", **base}, np.full(len(t), 0.02))
            put({"__name__": "scrape_samples_scraped", **base}, np.full(len(t), 120.0))
        down = (rel >= OUTAGE[0]) & (rel < OUTAGE[1])
        put({"__name__": "watchkeeper_health_status", "check": "db"}, np.where(down, 0, 1))
        put({"__name__": "watchkeeper_health_status", "check": "disk"}, np.ones(len(t)))
        for lo, hi in FIRING:
            inside = (rel >= lo) & (rel < hi)
            store.append_array({"__name__": "ALERTS", "alertname": "HighLatency",
                                "alertstate": "firing", "severity": "warning"},
                               ms[inside], np.ones(int(inside.sum())))
        rng = np.random.default_rng(1)
        put({"__name__": "node_memory_MemTotal_bytes"}, np.full(len(t), MEMORY))
        put({"__name__": "node_memory_MemAvailable_bytes"},
            np.where(rel >= SHIFT_AT, 0.25, 0.75) * MEMORY + rng.normal(0, 1e7, len(t)))
        used = 20e9 + 2e9 * (t - t[0]) / DAY  # 2 GB a day
        for name, value in (("node_filesystem_size_bytes", np.full(len(t), FS_SIZE)),
                            ("node_filesystem_avail_bytes", FS_SIZE - used),
                            ("node_filesystem_readonly", np.zeros(len(t)))):
            put({"__name__": name, "mountpoint": "/data", "fstype": "ext4",
                 "device": "/dev/sdb1"}, value)
        put({"__name__": "watchkeeper_tsdb_head_series"}, np.full(len(t), 40.0))
        put({"__name__": "watchkeeper_samples_appended_total"}, np.cumsum(np.full(len(t), 3000)))
    _plant_history(data, end)


def _plant_history(data: Path, end: float) -> None:
    """The HealthCheckFailing incident of the db outage (acknowledged after 10 min) and the
    two HighLatency incidents, in the alert history ``serve`` keeps beside the store."""
    from watchkeeper.alerting.history import AlertHistory
    from watchkeeper.alerting.state import FIRING as FIRING_STATE
    from watchkeeper.alerting.state import INACTIVE, Alert, StateChange
    from watchkeeper.tsdb.labels import Labels

    folder = data.parent / f"{data.name}-alerting"
    folder.mkdir(exist_ok=True)
    history = AlertHistory(folder / "alerting.db")
    week = end - 7 * DAY

    def episode(rule: str, labels: dict[str, str], lo: float, hi: float) -> int:
        alert = Alert(Labels.of({"alertname": rule, **labels}), {}, 1.0, FIRING_STATE,
                      int((week + lo) * 1000))
        history.record([StateChange(rule, alert, INACTIVE, FIRING_STATE,
                                    int((week + lo) * 1000))])
        history.record([StateChange(rule, alert, FIRING_STATE, INACTIVE,
                                    int((week + hi) * 1000))])
        return history.list(limit=1)[0]["id"]

    try:
        db = episode("HealthCheckFailing", {"check": "db", "severity": "critical"}, *OUTAGE)
        history.acknowledge(db, "ana", now_ms=int((week + OUTAGE[0] + 600) * 1000))
        for lo, hi in FIRING:
            episode("HighLatency", {"severity": "warning"}, lo, hi)
    finally:
        history.close()
