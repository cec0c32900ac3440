"""Alerting speed: a pushed sample that crosses a threshold, until a local webhook has it;
and one evaluation cycle of 1,000 alerting rules over 10,000 series.

Goals (issue 8): median push-to-webhook <= 2 s with a 1 s evaluation interval, for: 0s and
group_wait: 0s (a default Prometheus + Alertmanager spends 30 s in group_wait alone);
one evaluation cycle <= 1 s. Prints figures, goals and figure/goal ratios (<= 1 meets it).
Run: .venv/bin/python bench/alerting.py [--pushes N] [--cycles N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from watchkeeper.alerting.evaluator import RuleEvaluator
from watchkeeper.alerting.rules import Rule, RuleGroup
from watchkeeper.alerting.service import AlertingService
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

GOAL_E2E_S = 2.0
GOAL_CYCLE_S = 1.0


class Hook:
    """A local webhook noting when each host's alert arrives."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                now = time.time()
                with outer.cond:
                    for alert in body["alerts"]:
                        if alert["status"] == "firing":
                            outer.arrivals.setdefault(alert["labels"]["host"], now)
                    outer.cond.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, host: str, timeout: float) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: host in self.arrivals, timeout)
            return self.arrivals.get(host)


def end_to_end(pushes: int) -> list[float]:
    hook = Hook()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "rules.yml").write_text(
            "groups:\n  - name: e2e\n    interval: 1s\n    rules:\n"
            "      - alert: HighLoad\n        expr: load > 5\n        for: 0s\n")
        store = Store.open(root / "tsdb")
        config = {"rule_files": [str(root / "rules.yml")], "evaluation_interval": "1s",
                  "route": {"receiver": "hook", "group_by": ["host"], "group_wait": "0s",
                            "group_interval": "1s"},
                  "receivers": [{"name": "hook", "webhook_configs": [{"url": hook.url}]}]}
        service = AlertingService(store, Engine(store), config, root / "alerting")
        service.start()
        latencies = []
        try:
            for i in range(pushes):
                host = f"h{i}"
                t0 = time.time()
                store.append({"__name__": "load", "host": host}, int(t0 * 1000), 9.0)
                store.commit()
                t1 = hook.wait_for(host, timeout=15)
                if t1 is not None:
                    latencies.append(t1 - t0)
                time.sleep(0.37)  # spread the pushes over the evaluation interval
        finally:
            service.stop()
            store.close()
            hook.server.shutdown()
    return latencies


def through_serve(pushes: int) -> list[float]:
    """The same, through a ``watchkeeper serve`` process: push over HTTP, alert by webhook."""
    import socket
    import subprocess

    import httpx
    import yaml

    hook = Hook()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "rules.yml").write_text(
            "groups:\n  - name: e2e\n    interval: 1s\n    rules:\n"
            "      - alert: HighLoad\n        expr: load > 5\n        for: 0s\n")
        config = {"global": {"evaluation_interval": "1s"}, "rule_files": ["rules.yml"],
                  "collect_host": False, "web": {"listen_address": f"127.0.0.1:{port}"},
                  "alerting": {"route": {"receiver": "hook", "group_by": ["host"],
                                         "group_wait": "0s", "group_interval": "1s"},
                               "receivers": [{"name": "hook",
                                              "webhook_configs": [{"url": hook.url}]}]}}
        (root / "watchkeeper.yml").write_text(yaml.safe_dump(config))
        proc = subprocess.Popen([sys.executable, "-m", "watchkeeper.cli.main", "serve",
                                 "--config", str(root / "watchkeeper.yml"),
                                 "--data", str(root / "data")], cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        latencies = []
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if client.get("/health/live").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            for i in range(pushes):
                host = f"s{i}"
                t0 = time.time()
                client.post("/api/v1/import/prometheus", content=f'load{{host="{host}"}} 9\n')
                t1 = hook.wait_for(host, timeout=15)
                if t1 is not None:
                    latencies.append(t1 - t0)
                time.sleep(0.37)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            hook.server.shutdown()
    return latencies


def evaluation_cycle(cycles: int, rules: int = 1000, series: int = 10_000) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "tsdb", background=False)
        now = int(time.time() * 1000)
        for i in range(series):
            store.append({"__name__": "cpu_usage", "instance": f"host{i}",
                          "group": f"g{i % rules}"}, now, float(i % 100))
        store.commit()
        group = RuleGroup("bench", [Rule(expr=f'cpu_usage{{group="g{k}"}} > 90',
                                         alert=f"CPUHigh{k}", labels={"severity": "warning"},
                                         annotations={"summary": "{{ $labels.instance }} "
                                                      "at {{ $value }}%"})
                                    for k in range(rules)], 1000)
        evaluator = RuleEvaluator(store, Engine(store), [group])
        times = []
        for c in range(cycles):
            started = time.perf_counter()
            evaluator.evaluate_all(now + c * 1000)
            times.append(time.perf_counter() - started)
        firing = sum(len(r.active) for r in evaluator.groups[0].rules)
        store.close()
    print(f"  ({rules} rules, {series} series, {firing} alerts active)")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=7)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    print("one evaluation cycle:")
    cycle = statistics.median(evaluation_cycle(args.cycles))
    print(f"  median {cycle:.3f} s   goal <= {GOAL_CYCLE_S:.1f} s   "
          f"ratio {cycle / GOAL_CYCLE_S:.2f}")
    print("push to webhook:")
    latencies = end_to_end(args.pushes)
    if len(latencies) < args.pushes:
        print(f"  {args.pushes - len(latencies)} pushes never reached the webhook")
        sys.exit(1)
    e2e = statistics.median(latencies)
    print(f"  median {e2e:.3f} s (min {min(latencies):.3f}, max {max(latencies):.3f})   "
          f"goal <= {GOAL_E2E_S:.1f} s   ratio {e2e / GOAL_E2E_S:.2f}")
    print("push to webhook through watchkeeper serve (HTTP import, rule, webhook):")
    served = through_serve(args.pushes)
    if len(served) < args.pushes:
        print(f"  {args.pushes - len(served)} pushes never reached the webhook")
        sys.exit(1)
    serve_e2e = statistics.median(served)
    print(f"  median {serve_e2e:.3f} s (min {min(served):.3f}, max {max(served):.3f})   "
          f"goal <= {GOAL_E2E_S:.1f} s   ratio {serve_e2e / GOAL_E2E_S:.2f}")
    worst = max(cycle / GOAL_CYCLE_S, e2e / GOAL_E2E_S, serve_e2e / GOAL_E2E_S)
    print(f"worst ratio {worst:.2f}")


if __name__ == "__main__":
    main()
