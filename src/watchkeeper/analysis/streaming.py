"""A light streaming anomaly scorer for many series at once: what the server runs every tick.

The NAB detector (``anomaly.py``) keeps thousands of points per series and costs ~100 µs a
point; at 10,000 series every 30 s that is a core's worth of work and 2 GB. This one keeps
seven numbers per series (44 bytes) and scores a whole tick of every series in a few dozen
numpy calls:

- an exponentially weighted mean (half-life ~20 points) and variance (~100), updated with
  the residual clipped at 3 sigma, so one spike neither drags the baseline nor widens it;
- the newest residual, so a level shift shows in the mean of the last two points (a 4 sigma
  shift is a 5.7 sigma event there, caught within two evaluations) while a lone point
  needs 5 sigma;
- the series' own tail past 2.5 sigma (how often, and by how much on average, shrunk to
  Gaussian's until seen): a heavy-tailed series raises its thresholds to where an
  exponential tail puts a 6-in-a-million point, so its routine outliers stop paging.

``r`` is the largest of ``|z1| / 5`` and ``|z2| / 4`` (z1: the point, z2: the mean of the
last two, each in units of its own spread, the first raised by the tail lift, the second by
its square root); the score is ``r / (r + 1)``, so 0.5 (the product's threshold everywhere)
is exactly the threshold of either test. On Gaussian noise that flags under 1 % of
series-hours at two points a minute (tests/analysis check it, bench/anomaly_server.py prints
the figures for heavier tails too).

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
PAIR_Z = 4.0        # the mean of the last two, in units of its own spread, likewise
PREV_CLIP = 4.5     # a spike's residual counts at most this much in the next pair
MIN_SCALE = 1e-6    # a flat series' spread: this fraction of its level (or of 1)
TAIL_FROM = 2.5     # residuals past this many sigmas teach the series' tail
TAIL_ALPHA = 1 / 2000  # memory of the tail: a few days at two points a minute
TAIL_P = 6e-6       # the per-point chance of a false flag the thresholds aim at
PRIOR_N, PRIOR_RATE = 300.0, 0.0124  # the tail assumed before it is seen: Gaussian's
PRIOR_K, PRIOR_EXCESS = 4.0, 0.36    # (rate past 2.5 sigma, and mean excess past it)
_STATE = ("mean", "var", "prev", "n", "seen", "tail_n", "tail_x")


def _scale(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    return np.maximum(np.sqrt(var), MIN_SCALE * np.maximum(np.abs(mean), 1.0))


class StreamScorer:
    """Scores of many series, one tick at a time: ``update(keys, values)``.

    ``keys`` are int64 identities (``series_key``), ``values`` their values now. Each call
    returns every given series' score in [0, 1] from the points before it, and teaches the
    series its new point. At most ``capacity`` series are kept; others score 0.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.keys = np.zeros(0, dtype=np.int64)
        self.mean = np.zeros(0)
        self.var = np.zeros(0)
        self.prev = np.zeros(0, dtype=np.float32)  # the last residual, in sigmas
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
        n = self.n[rows]
        mean, var, prev = self.mean[rows], self.var[rows], self.prev[rows].astype(float)
        first = n == 0
        mean = np.where(first, x, mean)
        scale = _scale(mean, var)
        z = (x - mean) / scale
        ready = n >= WARMUP
        pair = (z + prev) / np.sqrt(2.0)
        # Heavy-tailed series raise their thresholds: an exponential tail fitted past
        # TAIL_FROM (rate and mean excess, shrunk to a prior) says where TAIL_P lies.
        tn, tx = self.tail_n[rows].astype(float), self.tail_x[rows].astype(float)
        points = np.minimum(np.maximum(n - WARMUP, 0), 1 / TAIL_ALPHA)
        rate = (tn + PRIOR_RATE * PRIOR_N) / (points + PRIOR_N)
        excess = (tx + PRIOR_EXCESS * PRIOR_K) / (tn + PRIOR_K)
        lift = np.maximum(1.0, (TAIL_FROM + np.log(rate / TAIL_P) * excess) / POINT_Z)
        r = np.maximum(np.abs(z) / (POINT_Z * lift), np.abs(pair) / (PAIR_Z * np.sqrt(lift)))
        scores[where] = np.where(ready, r / (r + 1.0), 0.0)
        # Learn: exact running moments while young, exponential weights after.
        a = np.maximum(1.0 / (n + 1.0), ALPHA)
        av = np.maximum(1.0 / (n + 1.0), ALPHA_VAR)
        step = np.where(ready, np.clip(z, -CLIP, CLIP) * scale, x - mean)
        new_mean = mean + a * step
        new_var = np.where(first, 0.0, (1 - av) * (var + av * step * step))
        self.mean[rows] = new_mean
        self.var[rows] = new_var
        self.prev[rows] = np.clip(z, -PREV_CLIP, PREV_CLIP)
        self.n[rows] = np.minimum(n + 1, 1 << 30)
        self.seen[rows] = self.tick
        over = np.where(ready, np.maximum(np.abs(z) - TAIL_FROM, 0.0), 0.0)
        self.tail_n[rows] = (1 - TAIL_ALPHA) * tn + (over > 0)
        self.tail_x[rows] = (1 - TAIL_ALPHA) * tx + np.minimum(over, 20.0)
        return scores


def series_key(identity: object) -> int:
    """A 64-bit key for a series' identity (any hashable: labels, or (query, labels))."""
    return hash(identity)
