"""A deterministic OpenMetrics data set for PromQL parity: counters with resets, gauges with
gaps longer than the lookback, NaN and Inf values, histograms and info-style join series."""

from __future__ import annotations

import random

BASE_S = 1_700_000_000  # fixed so both engines see the same history
STEP_S = 15
SAMPLES = 480  # two hours
END_S = BASE_S + STEP_S * (SAMPLES - 1)


def _fmt(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _series(lines: list[str], name: str, labels: dict[str, str], values: list[float | None]):
    lab = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    head = f"{name}{{{lab}}}" if lab else name
    for i, v in enumerate(values):
        if v is not None:
            lines.append(f"{head} {_fmt(v)} {BASE_S + i * STEP_S}")


def build() -> str:
    rng = random.Random(42)
    lines: list[str] = []
    lines.append("# TYPE http_requests gauge")
    for job in ("api", "web"):
        for inst in ("a", "b"):
            for method in ("get", "post"):
                total, values = rng.uniform(0, 50), []
                reset_at = {rng.randrange(100, 400)} if (inst, method) != ("a", "get") else set()
                for i in range(SAMPLES):
                    total = rng.uniform(0, 3) if i in reset_at else total + rng.uniform(0, 9)
                    values.append(round(total, 3))
                _series(lines, "http_requests", {"job": job, "instance": inst,
                                                 "method": method}, values)
    lines.append("# TYPE node_temp gauge")
    for inst in ("a", "b", "c"):
        _series(lines, "node_temp", {"instance": inst},
                [round(rng.gauss(20, 8), 4) for _ in range(SAMPLES)])
    lines.append("# TYPE gappy gauge")
    for inst in ("a", "b"):
        vals: list[float | None] = [round(rng.uniform(-5, 5), 3) for _ in range(SAMPLES)]
        gap = (200, 260) if inst == "a" else (300, 330)  # 15 and 7.5 minutes
        for i in range(*gap):
            vals[i] = None
        vals[SAMPLES - 40:] = [None] * 40 if inst == "b" else vals[SAMPLES - 40:]
        _series(lines, "gappy", {"instance": inst}, vals)
    lines.append("# TYPE special gauge")
    specials = {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")}
    for kind, v in specials.items():
        _series(lines, "special", {"kind": kind},
                [v if i % 7 == 3 else float(i % 11) for i in range(SAMPLES)])
    lines.append("# TYPE build_info gauge")
    for inst, version in (("a", "1.0"), ("b", "1.1"), ("c", "2.0")):
        _series(lines, "build_info", {"instance": inst, "version": version}, [1.0] * SAMPLES)
    lines.append("# TYPE req_duration_seconds_bucket gauge")
    bounds = ["0.1", "0.5", "1", "+Inf"]
    hist: dict[str, dict[str, list[float]]] = {}
    for job in ("api", "web"):
        counts = [0.0] * 4
        rows: dict[str, list[float]] = {b: [] for b in bounds}
        for _ in range(SAMPLES):
            add = [rng.randint(0, 5) for _ in range(4)]
            running = 0.0
            for k, b in enumerate(bounds):
                running += add[k]
                counts[k] += running
                rows[b].append(counts[k])
        hist[job] = rows
        for b in bounds:
            _series(lines, "req_duration_seconds_bucket", {"job": job, "le": b}, rows[b])
    lines.append("# TYPE req_duration_seconds_count gauge")
    for job in ("api", "web"):
        _series(lines, "req_duration_seconds_count", {"job": job}, hist[job]["+Inf"])
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
