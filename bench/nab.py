"""The anomaly detector on the Numenta Anomaly Benchmark, beside NAB's scoreboard.

Runs ``watchkeeper analyze anomalies`` on every file of the NAB corpus (one configuration
for all 58 files; the detector never sees the labels), then NAB's own scorer on the output:
the standard, reward-low-FP and reward-low-FN scores at the corpus-optimal threshold (what
the scoreboard shows) and at the shipped threshold 0.5 (what a user gets). The ratio to the
best published detector (ARTime, 74.9 standard) is printed last.

Run: ``python bench/nab.py [--nab ../shared/nab]`` (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCOREBOARD = [("ARTime", 74.9), ("Numenta HTM", 70.1), ("CAD OSE", 69.9),
              ("earthgecko Skyline", 58.2), ("KNN CAD", 58.0), ("Relative Entropy", 54.6),
              ("Random Cut Forest", 51.7), ("Twitter ADVec", 47.1), ("Windowed Gaussian", 39.6)]


def score(scorer: Path, run: Path, threshold: float | None) -> dict:
    cmd = [sys.executable, str(scorer), str(run), "--json"]
    if threshold is not None:
        cmd += ["--threshold", str(threshold)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nab", type=Path, default=ROOT.parent / "shared" / "nab",
                    help="the NAB folder (data/, labels/, nab_score.py)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "watchkeeper", "analyze", "anomalies",
                        "--input-dir", str(args.nab / "data"), "--output-dir", str(out)],
                       check=True)
        elapsed = time.perf_counter() - t0
        best = score(args.nab / "nab_score.py", out, None)
        shipped = score(args.nab / "nab_score.py", out, 0.5)
    print(f"scored the corpus in {elapsed:.1f} s")
    print(f"{'profile':20s} {'optimal':>8s} {'(thr)':>8s} {'at 0.5':>8s}")
    for name in best:
        print(f"{name:20s} {best[name]['score']:8.2f} {best[name]['threshold']:8.4f} "
              f"{shipped[name]['score']:8.2f}")
    print("scoreboard (standard):", ", ".join(f"{n} {s}" for n, s in SCOREBOARD))
    ours = best["standard"]["score"]
    beaten = [n for n, s in SCOREBOARD if s < ours]
    print(f"beats {len(beaten)} of {len(SCOREBOARD)} published detectors")
    print(f"ratio ours/ARTime (standard, optimal threshold): {ours / SCOREBOARD[0][1]:.3f}")
    print(f"ratio ours/ARTime (standard, shipped 0.5): "
          f"{shipped['standard']['score'] / SCOREBOARD[0][1]:.3f}")


if __name__ == "__main__":
    main()
