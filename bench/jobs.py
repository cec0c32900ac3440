"""Bulk operations, tracked locks and Celery hooks against their anchors, in the same run.

    .venv/bin/python bench/jobs.py [--quick] [--worker | --blocks]

- bulk: ``op.ok()`` per item against ``tqdm.update(1)`` (tqdm drawing to /dev/null), and
  ``for x in op.iter(items)`` against ``for x in tqdm(items)``; goal <= 1.1 x tqdm;
- ETA: a real operation at a constant rate; the ETA at half-way against the time it then
  really took (goal: within 10 %);
- locks: ``with lock:`` tracked against the bare ``threading.Lock`` / ``RLock``; goal
  <= 200 ns added;
- Celery: a task run through Celery's tracer (``apply()``) with the hooks connected and
  without, and the hooks' own code for one task (publish, start, end); ``--worker`` also
  drains 2,000 tasks through a real solo worker on the local RabbitMQ with the hooks, bare
  and bare again (the noise between two identical workers), see ``bench_celery_worker``,
  and one worker running the modes in turn over blocks of tasks (``--blocks`` alone), see
  ``bench_celery_worker_blocks``. ``WK_PROFILE=file`` writes a cProfile of each worker's
  tasks, from the first to the last, to ``file``.

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
from typing import Any

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
    request = SimpleNamespace(delivery_info={"routing_key": "celery"},
                              wk_enqueued_at=time.time())
    task = SimpleNamespace(name="bench.noop", request=request,
                           request_stack=SimpleNamespace(top=request))

    def lifecycle() -> None:
        hooks.before_publish(sender="bench.noop", headers={"task": "bench.noop"},
                             routing_key="celery")
        hooks.prerun(task_id="1", task=task)
        hooks.postrun(task_id="1", state="SUCCESS")

    per_task = min(timeit.repeat(lifecycle, number=number, repeat=ROUNDS)) / number
    print(f"celery hook code per task (publish, start, end): {per_task * 1e6:6.2f} us")
    RATIOS.append((f"celery hook code per task ({per_task * 1e6:.1f} us) / 20 us goal",
                   per_task / 20e-6, "<= 1"))
    bench_celery_tracer(app, noop, hooks)
    app.close()


def bench_celery_tracer(app: object, task: object, hooks: object) -> None:
    """A worker's path for one message, without the broker: the tracer a worker builds for
    a task, called with a request as a worker passes it, bare, with two receivers that do
    nothing (what Celery's dispatch of task_prerun and task_postrun costs by itself) and
    with the hooks."""
    from celery import signals
    from celery.app.trace import build_tracer

    from watchkeeper.integrations.jobs.schema import ENQUEUED_HEADER

    tracer = build_tracer(task.name, task, app=app)
    request = {"id": "1", "delivery_info": {"routing_key": "celery", "exchange": ""},
               ENQUEUED_HEADER: time.time()}

    def nothing(**_: object) -> None:
        return None

    def connect_nothing() -> None:
        signals.task_prerun.connect(nothing, weak=False)
        signals.task_postrun.connect(nothing, weak=False)

    def disconnect_nothing() -> None:
        signals.task_prerun.disconnect(nothing)
        signals.task_postrun.disconnect(nothing)

    modes = {"bare": (None, None), "dispatch only": (connect_nothing, disconnect_nothing),
             "hooks": (hooks.connect, hooks.disconnect)}
    # rounds of about a millisecond: on a busy machine a longer round is more likely to
    # be preempted, which would weigh on the slower mode's minimum more
    number, best = 20, {m: float("inf") for m in modes}
    for _ in range(ROUNDS * 40):
        for mode, (on, off) in modes.items():
            if on:
                on()
            try:
                took = timeit.timeit(lambda: tracer("1", (), {}, request), number=number)
            finally:
                if off:
                    off()
            best[mode] = min(best[mode], took / number)
    bare = best["bare"]
    print(f"celery worker tracer per task   bare {bare * 1e6:6.2f} us   signal dispatch only "
          f"+{(best['dispatch only'] - bare) * 1e6:5.2f} us   hooks "
          f"+{(best['hooks'] - bare) * 1e6:5.2f} us")
    RATIOS.append((f"celery worker tracer with hooks / bare (added "
                   f"{(best['hooks'] - bare) * 1e6:.1f} us, Celery's dispatch "
                   f"{(best['dispatch only'] - bare) * 1e6:.1f})", best["hooks"] / bare,
                   "<= 20 us added"))


WORKER = """
import json, os, sys, time
from time import perf_counter
from celery import Celery
app = Celery("benchw", broker=os.environ["BROKER"], set_as_current=False)
q = os.environ["QUEUE"]
app.conf.update(task_default_queue=q, task_default_exchange=q, task_default_routing_key=q,
                task_ignore_result=True, worker_hijack_root_logger=False,
                worker_prefetch_multiplier=64, broker_connection_retry_on_startup=True)
STARTS = []
CPU = []
PROFILE = []
if os.environ.get("WK_PROFILE"):  # cProfile the tasks from the first to the last
    import cProfile
    PROFILE.append(cProfile.Profile())
@app.task(name="bench.noop")
def noop(i, n):
    STARTS.append(perf_counter())  # every task's start: the gaps are the per-task cycle
    if i == 0 or i == n - 1:
        CPU.append((time.time(), time.process_time()))
    if PROFILE and i == 0:
        PROFILE[0].enable()
    if i == n - 1:
        if PROFILE:  # written here: a worker told to stop may exit before atexit runs
            PROFILE[0].disable()
            PROFILE[0].dump_stats(os.environ["WK_PROFILE"])
        gaps = sorted(b - a for a, b in zip(STARTS, STARTS[1:]))
        (w0, c0), (w1, c1) = CPU[0], CPU[-1]
        with open(os.environ["DONE"] + ".tmp", "w") as f:
            json.dump({"wall": w1 - w0, "cpu": c1 - c0, "tasks": len(STARTS),
                       "median": gaps[len(gaps) // 2], "q1": gaps[len(gaps) // 4]}, f)
        os.replace(os.environ["DONE"] + ".tmp", os.environ["DONE"])
if os.environ.get("HOOKS") == "1":
    from watchkeeper.integrations.jobs.celery import instrument_celery
    instrument_celery(app)
if os.environ.get("BLOCKS"):  # one worker, the modes in turn over blocks of tasks
    from celery import signals
    from watchkeeper.integrations.jobs.celery import CeleryHooks
    BLOCK, MODES = 50, os.environ["BLOCKS"].split(",")
    HOOKS, CPUS = CeleryHooks(), []
    def nothing(**_):
        return None
    def switch(mode):
        HOOKS.disconnect()
        signals.task_prerun.disconnect(nothing)
        signals.task_postrun.disconnect(nothing)
        if mode == "hooks":
            HOOKS.connect()
        elif mode == "dispatch":
            signals.task_prerun.connect(nothing, weak=False)
            signals.task_postrun.connect(nothing, weak=False)
    @app.task(name="bench.blocks")
    def blocks(i, n):
        STARTS.append(perf_counter())
        CPUS.append(time.process_time())
        if i % BLOCK == 0:
            switch(MODES[i // BLOCK % len(MODES)])
        if i == n - 1:  # a cycle ends in its block: the two cycles at a boundary are left out
            gaps, cpu = {m: [] for m in MODES}, {m: 0.0 for m in MODES}
            for j in range(1, n):
                if j % BLOCK > 1:
                    m = MODES[j // BLOCK % len(MODES)]
                    gaps[m].append(STARTS[j] - STARTS[j - 1])
                    cpu[m] += CPUS[j] - CPUS[j - 1]
            found = {m: {"median": sorted(g)[len(g) // 2], "cpu": cpu[m] / len(g)}
                     for m, g in gaps.items()}
            with open(os.environ["DONE"] + ".tmp", "w") as f:
                json.dump(found, f)
            os.replace(os.environ["DONE"] + ".tmp", os.environ["DONE"])
if __name__ == "__main__":
    app.worker_main(["worker", "-Q", q, "-P", "solo", "-l", "WARNING", "--without-heartbeat",
                     "--without-gossip", "--without-mingle", "-n", q + "@%h"])
"""
#: ``bare_again`` is a second bare worker in each round: how far two bare drains differ
WORKER_MODES = ("hooks", "bare", "bare_again")


def _drain(mode: str, tasks: int, broker: str) -> dict[str, Any] | None:
    """Queue ``tasks`` messages (stamped by the hooks in the ``hooks`` mode, as an
    instrumented producer does), then drain them through a solo worker; the worker's own
    figures from the first task's start to the last one's. A mode of several names joined
    by commas (``blocks:bare,hooks``) runs them in turn over blocks of 50 tasks in one
    worker, all messages stamped."""
    import json

    from celery import Celery
    from kombu import Connection

    from watchkeeper import CollectorRegistry
    from watchkeeper.integrations.jobs.celery import CeleryHooks
    from watchkeeper.integrations.jobs.schema import JobMetrics

    queue = f"wk_bench_{uuid.uuid4().hex[:8]}"
    done = Path(tempfile.gettempdir()) / f"{queue}.done"
    app = Celery("benchc", broker=broker, set_as_current=False)
    app.conf.update(task_default_queue=queue, task_default_exchange=queue,
                    task_default_routing_key=queue, task_ignore_result=True)
    blocks = mode[len("blocks:"):] if mode.startswith("blocks:") else ""
    stamp = mode == "hooks" or blocks
    hooks = CeleryHooks(JobMetrics(CollectorRegistry())).connect() if stamp else None
    try:
        for i in range(tasks):
            app.send_task("bench.blocks" if blocks else "bench.noop", (i, tasks))
    finally:
        if hooks is not None:
            hooks.disconnect()
    env = {**os.environ, "BROKER": broker, "QUEUE": queue, "DONE": str(done),
           "HOOKS": "1" if mode == "hooks" else "0", "BLOCKS": blocks,
           "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-c", WORKER], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.terminate()
    proc.wait(30)
    found = json.loads(done.read_text()) if done.exists() else None
    done.unlink(missing_ok=True)
    with Connection(broker) as conn:
        for method in ("queue_delete", "exchange_delete"):
            try:
                getattr(conn.channel(), method)(queue)
            except Exception:
                pass
    app.close()
    return found


def bench_celery_worker(tasks: int = 2_000) -> None:
    """Drain ``tasks`` queued messages through a solo worker on the local RabbitMQ, with the
    hooks, bare, and bare again, in rotating order each round.

    A drain's total wall and CPU time swing by more than the hooks cost from one bare
    worker to the next (how the broker's frames happen to batch into reads), so the figure
    to read is the median gap between consecutive task starts: the per-task cycle
    (receive, decode, trace with its signals, ack) of most tasks, which a preempted task
    or a slow read does not move. The bare-again column shows the noise between two
    identical workers."""
    broker = "amqp://guest:guest@127.0.0.1:5672//"
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in WORKER_MODES}
    rounds = 2 if QUICK else 8
    for round_ in range(rounds):
        order = WORKER_MODES[round_ % 3:] + WORKER_MODES[:round_ % 3]
        for mode in order:
            found = _drain(mode, tasks, broker)
            if found and found["tasks"] == tasks:
                runs[mode].append(found)
    if not all(runs.values()):
        print("celery worker: a drain did not finish", {m: len(v) for m, v in runs.items()})
        return
    best = {m: {k: min(r[k] for r in runs[m]) / (1 if k in ("median", "q1") else tasks)
                for k in ("wall", "cpu", "median", "q1")} for m in WORKER_MODES}
    load = os.getloadavg()[0]
    print(f"celery solo worker, {tasks} tasks x {rounds} rounds (minima; load {load:.1f}), "
          f"per task:")
    print(f"  {'':26}{'hooks':>10}{'bare':>10}{'bare again':>12}{'added':>9}"
          f"{'bare-bare':>11}")
    for key, label in (("median", "median start-to-start gap"), ("q1", "1st quartile gap"),
                       ("cpu", "worker CPU / task"), ("wall", "drain wall / task")):
        h, b, b2 = (best[m][key] * 1e6 for m in WORKER_MODES)
        print(f"  {label:26}{h:8.1f}us{b:8.1f}us{b2:10.1f}us{h - b:7.1f}us{b2 - b:9.1f}us")
    h, b = best["hooks"]["median"], best["bare"]["median"]
    RATIOS.append((f"celery worker median task cycle hooks / bare (added "
                   f"{(h - b) * 1e6:.1f} us)", h / b, "<= 20 us added"))
    h, b = best["hooks"]["cpu"], best["bare"]["cpu"]
    RATIOS.append((f"celery worker CPU with hooks / bare (added {(h - b) * 1e6:.1f} us/task)",
                   h / b, "<= 20 us added (noisy)"))


BLOCK_MODES = ("bare", "hooks", "bare_again", "dispatch")


def bench_celery_worker_blocks(tasks: int = 4_000) -> None:
    """One solo worker per round running the modes in turn over blocks of 50 tasks: bare,
    with the hooks, bare again (the noise), and with two receivers that do nothing (what
    Celery's dispatch of task_prerun and task_postrun costs in a real worker). Separate
    workers differ by more than the hooks cost (how the broker's frames batch, where the
    process's memory lands); blocks in one worker share all of that, so their difference
    is the hooks'. Medians over rounds of each round's median cycle."""
    import statistics

    broker = "amqp://guest:guest@127.0.0.1:5672//"
    rounds, runs = (2 if QUICK else 8), []
    for _ in range(rounds):
        found = _drain("blocks:" + ",".join(BLOCK_MODES), tasks, broker)
        if found:
            runs.append(found)
    if not runs:
        print("celery worker blocks: no drain finished")
        return
    print(f"celery solo worker, modes in turn over blocks of 50 tasks, {tasks} tasks x "
          f"{len(runs)} rounds (medians over rounds; load {os.getloadavg()[0]:.1f}), per task:")
    for key, label in (("median", "median start-to-start gap"), ("cpu", "worker CPU / task")):
        cells = []
        for mode in BLOCK_MODES:
            value = statistics.median(r[mode][key] for r in runs) * 1e6
            added = statistics.median(r[mode][key] - r["bare"][key] for r in runs) * 1e6
            cells.append(f"{mode} {value:6.1f}us" + (f" ({added:+5.1f})" if mode != "bare"
                                                      else ""))
        print(f"  {label:26}" + "   ".join(cells))
    added = {m: statistics.median(r[m]["median"] - r["bare"]["median"] for r in runs)
             for m in BLOCK_MODES}
    bare = statistics.median(r["bare"]["median"] for r in runs)
    RATIOS.append((f"celery worker cycle, blocks, hooks / bare (added "
                   f"{added['hooks'] * 1e6:.1f} us, bare-bare {added['bare_again'] * 1e6:.1f}, "
                   f"Celery's dispatch {added['dispatch'] * 1e6:.1f})",
                   (bare + added["hooks"]) / bare, "<= 20 us added"))


def main() -> None:
    if "--blocks" in sys.argv:  # only the worker measured in blocks
        bench_celery_worker_blocks()
    else:
        bench_bulk()
        bench_eta()
        bench_locks()
        bench_celery_in_process()
    if "--worker" in sys.argv:
        bench_celery_worker_blocks()
        bench_celery_worker()
    print()
    print(f"{'ratio (ours / anchor)':<64}{'value':>8}   goal")
    for name, value, goal in RATIOS:
        print(f"{name:<64}{value:8.3f}   {goal}")


if __name__ == "__main__":
    main()
