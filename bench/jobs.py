"""Bulk operations, tracked locks and Celery hooks against their anchors, in the same run.

    .venv/bin/python bench/jobs.py [--quick] [--worker]

- bulk: ``op.ok()`` per item against ``tqdm.update(1)`` (tqdm drawing to /dev/null), and
  ``for x in op.iter(items)`` against ``for x in tqdm(items)``; goal <= 1.1 x tqdm;
- ETA: a real operation at a constant rate; the ETA at half-way against the time it then
  really took (goal: within 10 %);
- locks: ``with lock:`` tracked against the bare ``threading.Lock`` / ``RLock``; goal
  <= 200 ns added;
- Celery: a task run through Celery's tracer (``apply()``) with the hooks connected and
  without, and the hooks' own code for one task (publish, start, end); ``--worker`` also
  drains 2,000 tasks through a real solo worker on the local RabbitMQ with and without.

Times are minima of alternating repeats (ours, anchor, ours, ...) so that load from other
processes weighs on both alike, and the minimum is the run it disturbed least. The ratios
(ours / anchor) are printed last.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
for _var in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir", "WATCHKEEPER_MULTIPROC_DIR"):
    os.environ.pop(_var, None)

from tqdm import tqdm  # noqa: E402

from watchkeeper.integrations.bulk import Operation  # noqa: E402
from watchkeeper.integrations.locks import tracked_lock  # noqa: E402

QUICK = "--quick" in sys.argv
REPEAT = 5 if QUICK else 15
ROUNDS = REPEAT * 4  # many short rounds: the least disturbed one is kept
N = 20_000
RATIOS: list[tuple[str, float, str]] = []


def paired(ours: Callable[[], object], anchor: Callable[[], object], number: int,
           rounds: int = ROUNDS) -> tuple[float, float]:
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, out in zip((ours, anchor), samples, strict=True):
            out.append(timeit.Timer(fn).timeit(number) / number)
    return min(samples[0]), min(samples[1])


def ns(seconds: float) -> str:
    return f"{seconds * 1e9:8.1f} ns"


def bench_bulk() -> None:
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed at the end
    op = Operation("bench", total=10 ** 12, report=None)
    bar = tqdm(total=10 ** 12, file=devnull)
    ok, update = op.ok, bar.update

    def ours_loop() -> None:
        for _ in range(N):
            ok()

    def tqdm_loop() -> None:
        for _ in range(N):
            update(1)

    ours, anchor = paired(ours_loop, tqdm_loop, 1)
    print(f"bulk op.ok() per item         {ns(ours / N)}   tqdm.update(1) {ns(anchor / N)}")
    RATIOS.append(("bulk op.ok() / tqdm.update(1)", ours / anchor, "<= 1.1, <= 150 ns"))
    items = range(N)

    def ours_iter() -> None:
        o = Operation("bench_iter", total=N, report=None)
        for _ in o.iter(items):
            pass
        o.finish()

    def tqdm_iter() -> None:
        for _ in tqdm(items, file=devnull):
            pass

    ours, anchor = paired(ours_iter, tqdm_iter, 1)
    print(f"bulk op.iter() per item       {ns(ours / N)}   tqdm(iterable)  {ns(anchor / N)}")
    RATIOS.append(("bulk op.iter() / tqdm(iterable)", ours / anchor, "<= 1.1"))
    bar.close()
    devnull.close()


def bench_eta() -> None:
    total, step = 400, 0.005
    op = Operation("eta", total=total, report=None, rate_window=30)
    eta_half = None
    started = time.monotonic()
    half_at = 0.0
    for i in range(total):
        time.sleep(step)
        op.ok()
        if i % 20 == 19:
            op.sample()
        if i + 1 == total // 2:
            op.sample()
            eta_half = op.eta()
            half_at = time.monotonic()
    actual = time.monotonic() - half_at
    op.finish()
    error = abs(eta_half - actual) / actual
    print(f"ETA at half-way {eta_half:6.3f} s, really took {actual:6.3f} s "
          f"({time.monotonic() - started:.2f} s in all): error {error * 100:.1f} %")
    RATIOS.append(("ETA error at half-way (constant rate)", error, "<= 0.10"))


def bench_locks() -> None:
    number = 2_000  # a round of a millisecond or so: many escape preemption entirely
    for name, bare, ours in (("Lock", threading.Lock(), tracked_lock("bench")),
                             ("RLock", threading.RLock(),
                              tracked_lock("bench_r", reentrant=True))):
        def with_ours(lock=ours) -> None:
            with lock:
                pass

        def with_bare(lock=bare) -> None:
            with lock:
                pass

        t_ours, t_bare = paired(with_ours, with_bare, number, rounds=ROUNDS * 4)
        added = t_ours - t_bare
        print(f"with {name:<5} tracked {ns(t_ours)}   bare {ns(t_bare)}   added {ns(added)}")
        RATIOS.append((f"tracked {name} / bare {name} (added {added * 1e9:.0f} ns)",
                       t_ours / t_bare, "<= 200 ns added"))


def bench_celery_in_process() -> None:
    from celery import Celery

    from watchkeeper import CollectorRegistry
    from watchkeeper.integrations.jobs.celery import CeleryHooks
    from watchkeeper.integrations.jobs.schema import JobMetrics

    app = Celery("bench", broker="memory://", set_as_current=False)
    app.conf.task_ignore_result = True

    @app.task(name="bench.noop")
    def noop() -> None:
        return None

    hooks = CeleryHooks(JobMetrics(CollectorRegistry()))
    number = 100

    def with_hooks(fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> None:
            hooks.connect()
            try:
                for _ in range(number):
                    fn()
            finally:
                hooks.disconnect()
        return run

    def bare(fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> None:
            for _ in range(number):
                fn()
        return run

    ours, anchor = paired(with_hooks(noop.apply), bare(noop.apply), 1, rounds=ROUNDS * 4)
    added = (ours - anchor) / number
    print(f"celery task run (apply)   hooks {ours / number * 1e6:8.2f} us   bare "
          f"{anchor / number * 1e6:8.2f} us   added {added * 1e6:6.2f} us")
    RATIOS.append((f"celery task run (apply) with hooks / bare (added {added * 1e6:.1f} us)",
                   ours / anchor, "<= 20 us added"))
    # The hooks' own code for one task's life (publish, start, end), without Celery: what a
    # publish adds on top of Celery's signal dispatch.
    task = SimpleNamespace(name="bench.noop", request=SimpleNamespace(
        delivery_info={"routing_key": "celery"}, wk_enqueued_at=time.time()))

    def lifecycle() -> None:
        hooks.before_publish(sender="bench.noop", headers={"task": "bench.noop"},
                             routing_key="celery")
        hooks.prerun(task_id="1", task=task)
        hooks.postrun(task_id="1", state="SUCCESS")

    per_task = min(timeit.repeat(lifecycle, number=number, repeat=ROUNDS)) / number
    print(f"celery hook code per task (publish, start, end): {per_task * 1e6:6.2f} us")
    RATIOS.append((f"celery hook code per task ({per_task * 1e6:.1f} us) / 20 us goal",
                   per_task / 20e-6, "<= 1"))
    app.close()


WORKER = """
import os, sys, time
from celery import Celery
app = Celery("benchw", broker=os.environ["BROKER"], set_as_current=False)
q = os.environ["QUEUE"]
app.conf.update(task_default_queue=q, task_default_exchange=q, task_default_routing_key=q,
                task_ignore_result=True, worker_hijack_root_logger=False,
                worker_prefetch_multiplier=64, broker_connection_retry_on_startup=True)
@app.task(name="bench.noop")
def noop(i, n):
    if i == 0:
        open(os.environ["DONE"] + ".start", "w").write(f"{time.time()} {time.process_time()}")
    if i == n - 1:
        open(os.environ["DONE"], "w").write(f"{time.time()} {time.process_time()}")
if os.environ.get("HOOKS") == "1":
    from watchkeeper.integrations.jobs.celery import instrument_celery
    instrument_celery(app)
if __name__ == "__main__":
    app.worker_main(["worker", "-Q", q, "-P", "solo", "-l", "WARNING", "--without-heartbeat",
                     "--without-gossip", "--without-mingle", "-n", q + "@%h"])
"""


def bench_celery_worker(tasks: int = 2_000) -> None:
    """Drain ``tasks`` queued messages through a solo worker, with and without hooks: the
    time from the first task's start to the last one's, so worker start-up is left out."""
    from celery import Celery
    from kombu import Connection

    broker = "amqp://guest:guest@127.0.0.1:5672//"
    times: dict[str, list[float]] = {"hooks": [], "bare": []}
    cpu: dict[str, list[float]] = {"hooks": [], "bare": []}
    for round_ in range(1 if QUICK else 5):
        for mode in ("hooks", "bare"):
            queue = f"wk_bench_{uuid.uuid4().hex[:8]}"
            done = Path(tempfile.gettempdir()) / f"{queue}.done"
            app = Celery("benchc", broker=broker, set_as_current=False)
            app.conf.update(task_default_queue=queue, task_default_exchange=queue,
                            task_default_routing_key=queue, task_ignore_result=True)
            for i in range(tasks):
                app.send_task("bench.noop", (i, tasks))
            env = {**os.environ, "BROKER": broker, "QUEUE": queue, "DONE": str(done),
                   "HOOKS": "1" if mode == "hooks" else "0",
                   "PYTHONPATH": str(ROOT / "src")}
            proc = subprocess.Popen([sys.executable, "-c", WORKER], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 300
            while not done.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            proc.terminate()
            proc.wait(30)
            first = Path(f"{done}.start")
            if done.exists() and first.exists():  # first task's start to last task's
                (w1, c1), (w0, c0) = (map(float, f.read_text().split()) for f in (done, first))
                times[mode].append(w1 - w0)
                cpu[mode].append(c1 - c0)  # the worker's own CPU: what other processes'
                # load disturbs least
            for path in (done, first):
                path.unlink(missing_ok=True)
            with Connection(broker) as conn:
                for method in ("queue_delete", "exchange_delete"):
                    try:
                        getattr(conn.channel(), method)(queue)
                    except Exception:
                        pass
            app.close()
        del round_
    ours, bare = min(times["hooks"]), min(times["bare"])
    added = (ours - bare) / tasks
    print(f"celery worker, {tasks} tasks   hooks {ours:6.2f} s   bare {bare:6.2f} s   "
          f"added {added * 1e6:6.1f} us per task (first task's start to the last's)")
    c_ours, c_bare = min(cpu["hooks"]), min(cpu["bare"])
    c_added = (c_ours - c_bare) / tasks
    print(f"  worker CPU   hooks {c_ours:6.2f} s   bare {c_bare:6.2f} s   "
          f"added {c_added * 1e6:6.1f} us per task")
    RATIOS.append((f"celery worker drain with hooks / bare (added {added * 1e6:.1f} us/task)",
                   ours / bare, "<= 20 us added"))
    RATIOS.append((f"celery worker CPU with hooks / bare (added {c_added * 1e6:.1f} us/task)",
                   c_ours / c_bare, "<= 20 us added"))


def main() -> None:
    bench_bulk()
    bench_eta()
    bench_locks()
    bench_celery_in_process()
    if "--worker" in sys.argv:
        bench_celery_worker()
    print()
    print(f"{'ratio (ours / anchor)':<64}{'value':>8}   goal")
    for name, value, goal in RATIOS:
        print(f"{name:<64}{value:8.3f}   {goal}")


if __name__ == "__main__":
    main()
