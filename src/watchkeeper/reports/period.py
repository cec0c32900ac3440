"""The report's window and how PromQL writes it: light enough for config validation."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PERIOD_DAYS = 90

#: The steps a chart may use: the smallest giving at most ``CHART_POINTS`` points wins.
STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
CHART_POINTS = 300


@dataclass
class Period:
    """The report's window: ``[start, end]`` in unix seconds; ``text`` is its PromQL
    duration (``7d``), used in every range selector and offset."""

    start: float
    end: float
    text: str

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def step(self) -> float:
        """A chart's step: about ``CHART_POINTS`` points over the period."""
        for s in STEPS:
            if self.seconds / s <= CHART_POINTS:
                return float(s)
        return float(STEPS[-1])

    @property
    def window(self) -> str:
        """The range of a chart's ``rate``: its step, never under 5 minutes."""
        return duration_text(max(self.step, 300.0))


def duration_text(seconds: float) -> str:
    """``90000`` -> ``1d1h``: a PromQL duration."""
    s, out = int(seconds), ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            out += f"{s // size}{unit}"
            s %= size
    return out or "0s"


def parse_period(text: str) -> tuple[float, str]:
    """Seconds and the PromQL duration of ``7d``, ``24h``, ``1w``; ValueError naming the
    problem otherwise."""
    from watchkeeper.promql.durations import parse_duration

    text = text.strip()
    ms = parse_duration(text)
    if ms < 3600_000:
        raise ValueError(f"period {text!r} is shorter than 1h")
    if ms > MAX_PERIOD_DAYS * 86400_000:
        raise ValueError(f"period {text!r} is longer than {MAX_PERIOD_DAYS}d")
    return ms / 1000.0, text
