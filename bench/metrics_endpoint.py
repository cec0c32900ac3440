"""``/metrics`` of ``watchkeeper serve`` against prometheus-node-exporter's ``/metrics``,
both running on this machine at the same time, under the same wrk load.

Rounds alternate between the two (so a noisy neighbour hurts both alike); medians are
printed, plain and with ``Accept-Encoding: gzip`` (what Prometheus sends), then the ratio
ours/anchor of requests/s (goal: >= 1) last.

    .venv/bin/python bench/metrics_endpoint.py [--rounds 5] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from serve import ROOT, free_port, get, start_serve, stop, wait, wrk  # noqa: E402


def wrk_gzip(url: str, seconds: int) -> float:
    """wrk with the header Prometheus sends; a body per request either way."""
    return wrk(url, seconds, "Accept-Encoding: gzip")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    for tool in ("wrk", "prometheus-node-exporter"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed")
    os.environ["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_serve(Path(tmp), {}, collect=1.0)
        port = free_port()
        node = subprocess.Popen(["prometheus-node-exporter",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        anchor_url = f"http://127.0.0.1:{port}/metrics"
        try:
            wait(lambda: get(anchor_url))
            time.sleep(2)  # a collection or two behind us
            ours_body, node_body = get(f"{base}/metrics"), get(anchor_url)
            print(f"bodies: ours {len(ours_body):,} B ({len(ours_body.splitlines()):,} lines), "
                  f"node_exporter {len(node_body):,} B ({len(node_body.splitlines()):,} lines)")
            results: dict[str, tuple[list[float], list[float]]] = {"plain": ([], []),
                                                                  "gzip": ([], [])}
            for _ in range(args.rounds):
                for kind, run in (("plain", wrk), ("gzip", wrk_gzip)):
                    results[kind][0].append(run(f"{base}/metrics", args.seconds))
                    results[kind][1].append(run(anchor_url, args.seconds))
            for kind, (ours, anchor) in results.items():
                print(f"/metrics {kind:<5} requests/s (wrk -c16, median of {args.rounds}): "
                      f"ours {statistics.median(ours):,.0f}  node_exporter "
                      f"{statistics.median(anchor):,.0f}  ratio "
                      f"{statistics.median(ours) / statistics.median(anchor):.2f}")
            ours, anchor = results["plain"]
            print(f"ratio ours/node_exporter requests/s: "
                  f"{statistics.median(ours) / statistics.median(anchor):.2f}")
        finally:
            stop(proc)
            node.terminate()
            node.wait()


if __name__ == "__main__":
    main()
