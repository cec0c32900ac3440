"""Per-step windows over one series' samples, gathered into padded 2-D arrays.

Why: a function over a range vector must run once per step and series; gathering every
window of a series into one (steps, longest window) array lets numpy do all steps at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_MAX_CELLS = 4_000_000


def window_bounds(ts: np.ndarray, ends: np.ndarray, range_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices [lo, hi) of samples with end - range <= t <= end, as Prometheus 2.x."""
    lo = np.searchsorted(ts, ends - range_ms, "left")
    hi = np.searchsorted(ts, ends, "right")
    return lo, hi


def gather(values: np.ndarray, lo: np.ndarray, hi: np.ndarray,
           ) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """Yield (step slice, windows (s, k), mask (s, k)) in chunks of bounded size."""
    counts = hi - lo
    steps = len(lo)
    width = int(counts.max()) if steps else 0
    width = max(width, 1)
    chunk = max(1, _MAX_CELLS // width)
    cols = np.arange(width)
    last = max(len(values) - 1, 0)
    for start in range(0, steps, chunk):
        sl = slice(start, min(steps, start + chunk))
        idx = lo[sl, None] + cols[None, :]
        mask = cols[None, :] < counts[sl, None]
        np.minimum(idx, last, out=idx)
        win = values[idx] if len(values) else np.zeros(idx.shape)
        yield sl, win, mask


def window_apply(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    """fn(windows, mask) -> per-step results, over all steps; NaN where windows are empty."""
    out = np.full(len(lo), np.nan)
    for sl, win, mask in gather(values, lo, hi):
        out[sl] = fn(win, mask)
    return out
