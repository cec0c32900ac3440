"""A light streaming anomaly scorer for many series at once: what the server runs every tick.

The NAB detector (``anomaly.py``) keeps thousands of points per series and costs ~100 µs a
point; at 10,000 series every 30 s that is a core's worth of work and 2 GB. This one keeps
seven numbers per series (48 bytes) and scores a whole tick of every series in a few dozen
numpy calls:

- an exponentially weighted mean (half-life ~20 points) and variance (~100), updated with
  the residual clipped at 3 sigma, so one spike neither drags the baseline nor widens it;
- the newest value, learned only once the next has been scored, so both points of a pair
  are judged against a baseline (mean, spread and tail) that has learned neither: a level
  shift shows in the mean of the last two points (a 4 sigma shift is a 5.7 sigma event
  there) while a lone point needs 5 sigma;
- the series' own tail past 2.5 sigma (how often, and by how much on average, shrunk to
  Gaussian's until seen): a heavy-tailed series raises its thresholds to where an
  exponential tail puts a 6-in-a-million point, so its routine outliers stop paging.

``r`` is the largest of ``|z1| / 5`` and ``|z2| / 4.1`` (z1: the point, z2: the mean of the
last two, each in units of its own spread, the first raised by the tail lift, the second by
its square root); the score is ``r / (r + 1)``, so 0.5 (the product's threshold everywhere)
is exactly the threshold of either test. On Gaussian noise that flags ~0.8 % of
series-hours at two points a minute, and catches a 4 sigma shift within two evaluations
~92 % of the time (tests/analysis check both; bench/anomaly_server.py prints the figures,
and those for heavier tails). Where the rest of the ~95 % a two-point test could reach
goes: the threshold 4.1 rather than 4 (~1 point; at 4, with the baseline learning a point
later, ~1 % of series-hours would be flagged), the tail prior lifting a Gaussian series'
thresholds by ~5 % (~2 points: the price of heavy tails not paging), and the noise of the
estimated mean and spread (~0.5). When a point was learned before the next was judged, a
shift's first point moved the mean, widened the spread and lifted the tail (together ~5
points), which also damped false pairs: at an equal false-flag rate judging the pair
against a baseline that has learned neither point is worth 1 to 2 points.

Series are keyed by a 64-bit hash of their identity; rows stay sorted by key so a tick maps
its series with one ``searchsorted``.
"""

from __future__ import annotations

import numpy as np

ALPHA = 0.035       # weight of the newest point in the mean (half-life ~20 points)
ALPHA_VAR = 0.007   # and in the variance (half-life ~100: a steadier yardstick)
WARMUP = 40         # points before a series scores (20 minutes at 30 s)
CLIP = 3.0          # residuals beyond this many sigmas teach only this much
POINT_Z = 5.0       # a lone point this many sigmas out scores 0.5
PAIR_Z = 4.1        # the mean of the last two, in units of its own spread, likewise
PREV_CLIP = 4.5     # a spike's residual counts at most this much in the next pair
MIN_SCALE = 1e-6    # a flat series' spread: this fraction of its level (or of 1)
TAIL_FROM = 2.5     # residuals past this many sigmas teach the series' tail
TAIL_ALPHA = 1 / 2000  # memory of the tail: a few days at two points a minute
TAIL_P = 6e-6       # the per-point chance of a false flag the thresholds aim at
PRIOR_N, PRIOR_RATE = 300.0, 0.0124  # the tail assumed before it is seen: Gaussian's
PRIOR_K, PRIOR_EXCESS = 4.0, 0.36    # (rate past 2.5 sigma, and mean excess past it)
_STATE = ("mean", "var", "last", "n", "seen", "tail_n", "tail_x")


def _scale(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    return np.maximum(np.sqrt(var), MIN_SCALE * np.maximum(np.abs(mean), 1.0))


class StreamScorer:
    """Scores of many series, one tick at a time: ``update(keys, values)``.

    ``keys`` are int64 identities (``series_key``), ``values`` their values now. Each call
    returns every given series' score in [0, 1] from the points before it, and teaches the
    series the point before this one (a point is learned once the next has been scored).
    At most ``capacity`` series are kept; others score 0.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.keys = np.zeros(0, dtype=np.int64)
        self.mean = np.zeros(0)
        self.var = np.zeros(0)
        self.last = np.zeros(0)  # the newest value, learned when the next is scored
        self.n = np.zeros(0, dtype=np.int32)
        self.seen = np.zeros(0, dtype=np.int32)   # tick of the last value (for eviction)
        self.tail_n = np.zeros(0, dtype=np.float32)  # decayed count of points past TAIL_FROM
        self.tail_x = np.zeros(0, dtype=np.float32)  # decayed sum of their excess over it
        self.tick = 0
        self.dropped = 0  # series not kept because the scorer was full

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in ("keys", *_STATE))

    def _rows(self, keys: np.ndarray) -> np.ndarray:
        """Row of each key, adding new ones (while there is room); -1 for a key not kept."""
        pos = np.searchsorted(self.keys, keys)
        found = pos < len(self.keys)
        found[found] = self.keys[pos[found]] == keys[found]
        if not found.all():
            new = np.unique(keys[~found])
            room = max(0, self.capacity - len(self.keys))
            self.dropped += max(0, len(new) - room)
            new = new[:room]
            if len(new):
                self._insert(new)
            pos = np.searchsorted(self.keys, keys)
            found = pos < len(self.keys)
            found[found] = self.keys[pos[found]] == keys[found]
        return np.where(found, pos, -1)

    def _insert(self, new: np.ndarray) -> None:
        keys = np.concatenate([self.keys, new])
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        for name in _STATE:
            old = getattr(self, name)
            grown = np.concatenate([old, np.zeros(len(new), dtype=old.dtype)])
            setattr(self, name, grown[order])

    def baseline(self, keys: np.ndarray) -> np.ndarray:
        """The expected value of each key now (its weighted mean; NaN if unknown)."""
        keys = np.asarray(keys, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), max(len(self.keys) - 1, 0))
        if not len(self.keys):
            return np.full(len(keys), np.nan)
        return np.where(self.keys[pos] == keys, self.mean[pos], np.nan)

    def forget(self, idle_ticks: int) -> int:
        """Drop series without a value for ``idle_ticks`` ticks; how many went."""
        keep = self.tick - self.seen <= idle_ticks
        gone = int(len(keep) - keep.sum())
        if gone:
            self.keys = self.keys[keep]
            for name in _STATE:
                setattr(self, name, getattr(self, name)[keep])
        return gone

    def update(self, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        keys = np.asarray(keys, dtype=np.int64)
        x = np.asarray(values, dtype=float)
        self.tick += 1
        scores = np.zeros(len(keys))
        ok = np.isfinite(x)
        keys, x, where = keys[ok], x[ok], np.flatnonzero(ok)
        if not len(keys):
            return scores
        rows = self._rows(keys)
        kept = rows >= 0
        rows, x, where = rows[kept], x[kept], where[kept]
        n = self.n[rows]                       # points received before this one
        has = n > 0                            # a previous point waits to be learned
        learned = np.maximum(n - 1, 0)         # points the state has learned
        mean, var, last = self.mean[rows], self.var[rows], self.last[rows]
        mean = np.where(n == 1, last, mean)
        scale = _scale(mean, var)
        # Both points of the pair are judged against a baseline that has learned neither,
        # so a shift's first point cannot blunt the test of its second.
        z = (x - mean) / scale
        zp = np.where(has, (last - mean) / scale, 0.0)
        ready = learned >= WARMUP
        pair = (z + np.clip(zp, -PREV_CLIP, PREV_CLIP)) / np.sqrt(2.0)
        # Heavy-tailed series raise their thresholds: an exponential tail fitted past
        # TAIL_FROM (rate and mean excess, shrunk to a prior) says where TAIL_P lies.
        tn, tx = self.tail_n[rows].astype(float), self.tail_x[rows].astype(float)
        points = np.minimum(np.maximum(learned - WARMUP, 0), 1 / TAIL_ALPHA)
        rate = (tn + PRIOR_RATE * PRIOR_N) / (points + PRIOR_N)
        excess = (tx + PRIOR_EXCESS * PRIOR_K) / (tn + PRIOR_K)
        lift = np.maximum(1.0, (TAIL_FROM + np.log(rate / TAIL_P) * excess) / POINT_Z)
        r = np.maximum(np.abs(z) / (POINT_Z * lift), np.abs(pair) / (PAIR_Z * np.sqrt(lift)))
        scores[where] = np.where(ready, r / (r + 1.0), 0.0)
        # Learn the previous point (one behind): exact running moments while young,
        # exponential weights after; residuals of scored points clipped.
        a = np.maximum(1.0 / (learned + 1.0), ALPHA)
        av = np.maximum(1.0 / (learned + 1.0), ALPHA_VAR)
        step = np.where(ready, np.clip(zp, -CLIP, CLIP) * scale, last - mean)
        new_mean = np.where(has, mean + a * step, x)
        new_var = np.where(learned == 0, 0.0, (1 - av) * (var + av * step * step))
        self.mean[rows] = new_mean
        self.var[rows] = new_var
        self.last[rows] = x
        self.n[rows] = np.minimum(n + 1, 1 << 30)
        self.seen[rows] = self.tick
        over = np.where(ready & has, np.maximum(np.abs(zp) - TAIL_FROM, 0.0), 0.0)
        self.tail_n[rows] = (1 - TAIL_ALPHA) * tn + (over > 0)
        self.tail_x[rows] = (1 - TAIL_ALPHA) * tx + np.minimum(over, 20.0)
        return scores


def series_key(identity: object) -> int:
    """A 64-bit key for a series' identity (any hashable: labels, or (query, labels))."""
    return hash(identity)
