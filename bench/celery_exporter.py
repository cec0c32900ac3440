"""Our Celery hooks against celery-exporter on the same run: both count the same tasks.

    .venv/bin/python bench/celery_exporter.py [--tasks 10000] [--concurrency 2]

celery-exporter (PyPI ``prometheus-exporter-celery``) listens to Celery's events, so the
worker runs with ``-E`` and the producer sends ``task-sent`` events; our hooks run in the
same worker and producer (no events needed). One task in 100 raises. Once both have seen
every task finish, the counters are compared line by line: sent/enqueued, received and
started/started, succeeded/success, failed/failure. The exporter's own dependencies pin
versions the project's venv does not have (prometheus-client < 0.22, and it ships a package
named ``src``), so it is installed once into a side directory and run from there:

    python -m pip install --target ~/.cache/watchkeeper/bench/celery-exporter --no-deps \\
        prometheus-exporter-celery==0.11.2 loguru pretty-errors timy arrow waitress \\
        'prometheus-client>=0.21.1,<0.22' tzdata colorama

(the script does this itself when the directory is missing). The broker is the local
RabbitMQ. Printed last: the ratio of each of our counters to the exporter's (goal 1.000).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
BROKER = "amqp://guest:guest@127.0.0.1:5672//"
SIDE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "watchkeeper" / \
    "bench" / "celery-exporter"
PACKAGES = ["prometheus-exporter-celery==0.11.2", "loguru>=0.7.3,<0.8",
            "pretty-errors>=1.2.25,<2", "timy>=0.4.2,<0.5", "arrow>=1.3,<2",
            "waitress>=3.0.2,<4", "prometheus-client>=0.21.1,<0.22", "tzdata", "colorama"]

WORKER = """
import os
from celery import Celery
from watchkeeper.integrations.jobs.celery import instrument_celery
q = os.environ["QUEUE"]
app = Celery("benchx", broker=os.environ["BROKER"], set_as_current=False)
app.conf.update(task_default_queue=q, task_default_exchange=q, task_default_routing_key=q,
                task_ignore_result=True, worker_hijack_root_logger=False,
                worker_prefetch_multiplier=32, broker_connection_retry_on_startup=True)
@app.task(name="bench.work")
def work(i):
    if i % 100 == 99:
        raise ValueError("one in a hundred fails")
    return i
instrument_celery(app)
if __name__ == "__main__":
    app.worker_main(["worker", "-E", "-Q", q, "-P", "prefork", "-c", os.environ["CONC"],
                     "-l", "WARNING", "--without-gossip", "--without-mingle",
                     "-n", q + "@%h"])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_exporter() -> None:
    if (SIDE / "src" / "cli.py").exists():
        return
    print(f"installing celery-exporter into {SIDE}", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(SIDE), *PACKAGES], check=True)


def exporter_counts(port: int) -> dict[str, float]:
    """celery-exporter's task counters, summed over every label (hostname included)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=20) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"celery_task_(\w+)_total\{[^}]*\} ([0-9.e+]+)$", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def our_counts(mpdir: Path, registry) -> dict[str, float]:
    from watchkeeper.metrics.multiprocess import MultiProcessCollector
    from watchkeeper.metrics.registry import CollectorRegistry

    worker = CollectorRegistry()
    MultiProcessCollector(worker, str(mpdir))
    out: dict[str, float] = {}
    for reg in (worker, registry):
        for fam in reg.collect():
            for s in fam.samples:
                key = {"jobs_enqueued_total": "enqueued", "jobs_started_total": "started",
                       "jobs_completed_total": s.labels.get("outcome", ""),
                       "job_workers_up": "up"}.get(s.name)
                if key:
                    out[key] = out.get(key, 0.0) + s.value
    return out


def wait(probe, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--concurrency", default="2")
    args = parser.parse_args()
    n = args.tasks
    ensure_exporter()
    from celery import Celery
    from kombu import Connection

    from watchkeeper import CollectorRegistry
    from watchkeeper.integrations.jobs.celery import instrument_celery
    from watchkeeper.integrations.jobs.schema import JobMetrics

    queue = f"wk_cmp_{uuid.uuid4().hex[:8]}"
    mpdir = Path(tempfile.mkdtemp(prefix="wk_cmp_mp_"))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(SIDE)}
    exporter = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.argv[0] = 'celery-exporter'; "
         "from src.cli import cli; cli()", "--broker-url", BROKER, "--port", str(port),
         "--host", "127.0.0.1"], env=env, cwd=SIDE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "BROKER": BROKER, "QUEUE": queue,
             "CONC": args.concurrency, "PROMETHEUS_MULTIPROC_DIR": str(mpdir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    registry = CollectorRegistry()
    hooks = instrument_celery(metrics=JobMetrics(registry))
    app = Celery("benchp", broker=BROKER, set_as_current=False)
    app.conf.update(task_default_queue=queue, task_default_exchange=queue,
                    task_default_routing_key=queue, task_ignore_result=True,
                    task_send_sent_event=True)
    try:
        wait(lambda: _answers(port), 60, "celery-exporter to answer")
        wait(lambda: our_counts(mpdir, registry).get("up", 0) >= 1, 60, "the worker to start")
        time.sleep(2)  # the exporter's event queue is bound before the first task is sent
        started = time.monotonic()
        for i in range(n):
            app.send_task("bench.work", (i,))
        sent_in = time.monotonic() - started

        def both_done():
            ours, theirs = our_counts(mpdir, registry), exporter_counts(port)
            finished = ours.get("success", 0) + ours.get("failure", 0)
            seen = theirs.get("succeeded", 0) + theirs.get("failed", 0)
            return (ours, theirs) if finished >= n and seen >= n else None

        ours, theirs = wait(both_done, 600, f"{n} tasks finished in both")
        took = time.monotonic() - started
        time.sleep(1)
        ours, theirs = our_counts(mpdir, registry), exporter_counts(port)
    finally:
        hooks.disconnect()
        app.close()
        for proc in (worker, exporter):
            proc.terminate()
        for proc in (worker, exporter):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        with Connection(BROKER) as conn:
            for method in ("queue_delete", "exchange_delete"):
                try:
                    getattr(conn.channel(), method)(queue)
                except Exception:
                    pass
    pairs = [("enqueued", "sent"), ("started", "received"), ("started", "started"),
             ("success", "succeeded"), ("failure", "failed")]
    print(f"{n} tasks ({n // 100} raising), sent in {sent_in:.1f} s, all finished after "
          f"{took:.1f} s; prefork worker -c {args.concurrency} with -E, RabbitMQ")
    print(f"{'ours':<22}{'value':>10}   {'celery-exporter':<28}{'value':>10}")
    for o, t in pairs:
        print(f"jobs {o:<17}{ours.get(o, 0):>10.0f}   celery_task_{t + '_total':<16}"
              f"{theirs.get(t, 0):>10.0f}")
    print()
    for o, t in pairs:
        ratio = ours.get(o, 0) / theirs[t] if theirs.get(t) else float("nan")
        print(f"ours {o} / celery-exporter {t:<10}{ratio:8.3f}   (goal 1.000)")


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=20):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
