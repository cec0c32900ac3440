"""Remote write out: throughput into VictoriaMetrics beside Prometheus agent mode, and an
outage with a restart in the middle.

1. Throughput. Targets expose ``--series`` series in all (default 100,000), scraped every
   second by ``watchkeeper serve --agent`` and by Prometheus 2.42 ``--enable-feature=agent``
   at the same time, each remote-writing (2,000-sample batches) into its own
   VictoriaMetrics. Over ``--seconds`` (default 60): samples/s each delivered (the
   samples scraped in the window that VictoriaMetrics' export holds 5 s after its end) and
   the process CPU each used, in cores. Goal: >= 100,000 samples/s on <= 1 core.
2. Send path alone: a 2,000,000-sample backlog (100,000 series) drained into
   VictoriaMetrics by one sender in this process: samples/s and CPU (no scraping).
3. Outage. 1,000 series at 1 s; VictoriaMetrics stopped for ``--outage-seconds`` (default
   600); watchkeeper is SIGKILLed and restarted halfway through. Each sample's value is the
   target's scrape number, so VictoriaMetrics' export shows exactly which scrapes are
   missing. Goals: none lost (only the scrape in flight at the kill may be absent), the
   backlog drained <= 2 minutes after VictoriaMetrics returns, RSS growth <= 64 MiB.
   Prometheus agent mode rides the same outage (no restart) as the anchor.

    .venv/bin/python bench/remote_write.py                       # about 13 minutes
    .venv/bin/python bench/remote_write.py --outage-seconds 60   # the short outage
    .venv/bin/python bench/remote_write.py --only throughput --series 20000 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MiB = 1 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait(probe, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gave up waiting for {what}")


# ------------------------------------------------------------------------------ processes
class Proc:
    def __init__(self, args: list[str], log: Path, env: dict | None = None) -> None:
        self.args, self.log, self.env = args, log, env
        self.p: subprocess.Popen | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:
            self.p = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                      env={**os.environ, **(self.env or {})})
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.p is not None and self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(10)

    def cpu(self) -> float:
        t = psutil.Process(self.p.pid).cpu_times()
        return t.user + t.system

    def rss(self) -> int:
        return psutil.Process(self.p.pid).memory_info().rss


class VM:
    def __init__(self, work: Path, name: str) -> None:
        self.data, self.port = work / f"{name}-data", free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = Proc([shutil.which("victoria-metrics") or "victoria-metrics",
                          f"-storageDataPath={self.data}", f"-httpListenAddr=127.0.0.1:{self.port}",
                          "-search.latencyOffset=0s", "-search.maxExportSeries=1000000",
                          "-search.maxSamplesPerQuery=1000000000"], work / f"{name}.log")

    def start(self) -> VM:
        self.proc.start()
        wait(lambda: get(f"{self.url}/health", 2) == b"OK", 30, "VictoriaMetrics")
        return self

    def export(self, match: str, start: float | None = None, end: float | None = None
               ) -> list[dict]:
        get(f"{self.url}/internal/force_flush")
        q = urllib.parse.urlencode({"match[]": match, **({"start": f"{start:.3f}",
                                                         "end": f"{end:.3f}"} if start else {})})
        text = get(f"{self.url}/api/v1/export?{q}", 300).decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def count(self, match: str, start: float | None = None, end: float | None = None) -> int:
        return sum(len(r["timestamps"]) for r in self.export(match, start, end))


def metric(base: str, name: str) -> float:
    """Sum of ``name``'s samples in ``base``/metrics (all endpoints)."""
    total = 0.0
    for line in get(f"{base}/metrics").decode().splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def watchkeeper(work: Path, config: dict) -> tuple[Proc, str]:
    port = free_port()
    config = {**config, "web": {"listen_address": f"127.0.0.1:{port}"}, "collect_host": False}
    (work / "wk.yml").write_text(json.dumps(config))
    proc = Proc([PY, "-m", "watchkeeper.cli.main", "serve", "--agent", "--config",
                 str(work / "wk.yml"), "--data", str(work / "wk-data"), "--log-level", "warning"],
                work / "wk.log", {"PYTHONPATH": str(ROOT / "src")})
    return proc, f"http://127.0.0.1:{port}"


def prometheus(work: Path, config: dict) -> tuple[Proc, str]:
    port = free_port()
    (work / "prom.yml").write_text(json.dumps(config))
    proc = Proc([shutil.which("prometheus") or "prometheus", "--enable-feature=agent",
                 f"--config.file={work / 'prom.yml'}", f"--storage.agent.path={work / 'prom'}",
                 f"--web.listen-address=127.0.0.1:{port}"], work / "prom.log")
    return proc, f"http://127.0.0.1:{port}"


def sender_config(targets: list[str], vm: VM, replica: str) -> dict:
    return {"global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "external_labels": {"replica": replica}},
            "scrape_configs": [{"job_name": "bench", "static_configs": [{"targets": targets}]}],
            "remote_write": [{"url": f"{vm.url}/api/v1/write", "name": "vm",
                              "metadata_config": {"send": False},
                              "queue_config": {"max_samples_per_send": 2000,
                                               "capacity": 10000, "max_shards": 50,
                                               "min_backoff": "30ms", "max_backoff": "5s"}}]}


# -------------------------------------------------------------------------------- targets
class Targets:
    """HTTP targets: ``/t/K`` exposes ``per`` series whose value is that target's scrape
    number (counted per scraper, told apart by the User-Agent)."""

    def __init__(self, count: int, per: int, static: bool = False) -> None:
        self.count, self.per, self.static = count, per, static
        self.scrapes: dict[tuple[str, int], int] = {}
        self.served: dict[tuple[str, int], list[tuple[float, int]]] = {}
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a) -> None:
                pass

            def do_GET(self) -> None:
                k = int(self.path.rsplit("/", 1)[1])
                who = "prom" if "Prometheus" in self.headers.get("User-Agent", "") else "wk"
                with owner.lock:
                    n = owner.scrapes.get((who, k), 0) + 1
                    owner.scrapes[(who, k)] = n
                    owner.served.setdefault((who, k), []).append((time.time(), n))
                body = owner.body(k, n)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self._lines = {k: [f'bench_value{{t="{k}",i="{i}"}} ' for i in range(per)]
                       for k in range(count)}
        self._static = [("# TYPE bench_value gauge\n" + "1\n".join(self._lines[k]) + "1\n"
                         ).encode() for k in range(count)]

    def body(self, k: int, n: int) -> bytes:
        if self.static:  # the throughput run: prepared once, so serving costs ~nothing
            return self._static[k]
        return ("# TYPE bench_value gauge\n" + f"{n}\n".join(self._lines[k]) + f"{n}\n").encode()

    def stop(self) -> None:
        self.server.shutdown()


def scrape_config_paths(targets: Targets) -> list[dict]:
    return [{"job_name": f"bench{k}", "metrics_path": f"/t/{k}",
             "static_configs": [{"targets": [targets.addr]}]} for k in range(targets.count)]


# ----------------------------------------------------------------------------- throughput
def throughput(work: Path, series: int, seconds: float) -> dict:
    per = 2000
    count = max(1, series // per)
    targets = Targets(count, per, static=True)
    vm_wk, vm_prom = VM(work, "vm-wk").start(), VM(work, "vm-prom").start()
    cfg_wk = sender_config([], vm_wk, "wk")
    cfg_wk["scrape_configs"] = scrape_config_paths(targets)
    cfg_prom = sender_config([], vm_prom, "prom")
    cfg_prom["scrape_configs"] = scrape_config_paths(targets)
    wk, wk_url = watchkeeper(work, cfg_wk)
    prom, prom_url = prometheus(work, cfg_prom)
    out: dict = {}
    try:
        wk.start()
        prom.start()
        name = "prometheus_remote_storage_samples_total"
        for url in (wk_url, prom_url):
            wait(lambda u=url: metric(u, name) > 0, 120, f"samples sent by {url}")
        time.sleep(10)  # warm up: shards settle
        begin = time.time()
        c0 = {"wk": wk.cpu(), "prom": prom.cpu()}
        time.sleep(seconds)
        end = time.time()
        c1 = {"wk": wk.cpu(), "prom": prom.cpu()}
        time.sleep(5)  # what was scraped in the window and delivered within 5 s of its end
        for who, vm in (("wk", vm_wk), ("prom", vm_prom)):
            stored = vm.count('{__name__="bench_value"}', begin, end)
            out[who] = {"samples_per_s": stored / (end - begin),
                        "cores": (c1[who] - c0[who]) / (end - begin)}
        out["offered_per_s"] = count * per
        out["wk"]["pending_at_end"] = metric(wk_url, "prometheus_remote_storage_samples_pending")
    finally:
        wk.stop()
        prom.stop()
        targets.stop()
    for vm in (vm_wk, vm_prom):
        vm.proc.stop()
    return out


# ------------------------------------------------------------------------------ send path
def send_path(work: Path, samples: int = 2_000_000, series: int = 100_000) -> dict:
    """The remote-write side alone, in this process: a backlog of ``samples`` (``series``
    series, one sample each per second) already queued, drained into VictoriaMetrics by
    one sender (queue read, encoding, snappy, HTTP, acknowledgements); wall time and this
    process's CPU while draining."""
    sys.path.insert(0, str(ROOT / "src"))

    from watchkeeper.config.models import RemoteWriteConfig
    from watchkeeper.remote import RemoteWrite
    from watchkeeper.tsdb.agent import AgentStore

    vm = VM(work, "vm-send").start()
    store = AgentStore.open(work / "send-data")
    cfg = RemoteWriteConfig.model_validate(
        {"url": f"{vm.url}/api/v1/write", "name": "vm", "metadata_config": {"send": False},
         "queue_config": {"max_samples_per_send": 2000, "max_shards": 8}})
    remote = RemoteWrite(store, [cfg], work / "send-queue")
    for s in remote.senders:
        store.taps.append(s.queue.tap)
    base = int(time.time() * 1000) - samples // series * 1000 - 60_000
    labels = [{"__name__": "bench_send", "i": str(i), "replica": "send"} for i in range(series)]
    for step in range(samples // series):
        store.append_many((lb, base + step * 1000, float(step)) for lb in labels)
        store.commit()
    queued = remote.senders[0].queue.written_samples
    wall0, cpu0 = time.perf_counter(), time.process_time()
    remote.start_sending()
    sender = remote.senders[0]
    while sender.settled < queued and time.perf_counter() - wall0 < 600:
        time.sleep(0.05)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    shards = sender.shards
    remote.stop()
    store.close()
    stored = vm.count('{__name__="bench_send"}')
    vm.proc.stop()
    return {"queued": queued, "stored": stored, "samples_per_s": queued / wall,
            "cores": cpu / wall, "per_core": queued / cpu, "shards": shards}


# --------------------------------------------------------------------------------- outage
def outage(work: Path, outage_seconds: float, series: int = 1000, anchor: bool = True) -> dict:
    """The outage run; ``anchor=False`` leaves Prometheus out (the test's counts-only run)."""
    senders = ("wk", "prom") if anchor else ("wk",)
    targets = Targets(1, series)
    vm = VM(work, "vm-outage").start()
    cfg = sender_config([targets.addr], vm, "wk")
    cfg["scrape_configs"] = scrape_config_paths(targets)
    cfg_prom = sender_config([targets.addr], vm, "prom")
    cfg_prom["scrape_configs"] = scrape_config_paths(targets)
    wk, wk_url = watchkeeper(work, cfg)
    prom, prom_url = prometheus(work, cfg_prom)
    sent = "prometheus_remote_storage_queue_highest_sent_timestamp_seconds"
    result: dict = {}
    checked_until = 0.0
    urls = {"wk": wk_url, "prom": prom_url}
    try:
        wk.start()
        if anchor:
            prom.start()
        for who in senders:
            wait(lambda u=urls[who]: metric(u, sent) > 0, 120, f"first delivery by {who}")
        time.sleep(5)
        rss_before = wk.rss()
        vm.proc.stop()
        down_at = time.time()
        rss_max = rss_before
        killed = False
        kill_at = 0.0
        while time.time() - down_at < outage_seconds:
            if not killed and time.time() - down_at >= outage_seconds / 2:
                kill_at = time.time()
                wk.stop(signal.SIGKILL)
                wk.start()
                wait(lambda: get(f"{wk_url}/health/live", 2), 60, "the restarted watchkeeper")
                killed = True
            try:
                rss_max = max(rss_max, wk.rss())
            except psutil.Error:
                pass
            time.sleep(1)
        vm.start()
        back = time.time()
        drained: dict[str, float | None] = {who: None for who in senders}
        while time.time() - back < 600 and None in drained.values():
            for who in senders:
                if drained[who] is None and metric(urls[who], sent) >= back - 2:
                    drained[who] = time.time() - back
            rss_max = max(rss_max, wk.rss())
            time.sleep(1)
        time.sleep(3)
        result = {"drain_s": drained, "rss_growth": rss_max - rss_before,
                  "kill_at": kill_at, "down_at": down_at, "back_at": back}
        checked_until = time.time() - 3  # later scrapes may still be on their way
    finally:
        wk.stop()
        prom.stop()
        targets.stop()
    for who in senders:
        rows = vm.export(f'{{__name__="bench_value",replica="{who}"}}')
        served = [n for t, n in targets.served.get((who, 0), []) if t < checked_until]
        in_flight = {n for t, n in targets.served.get((who, 0), [])
                     if kill_at and abs(t - kill_at) < 2.0}
        missing = 0
        missing_at_kill = 0
        for r in rows:
            got = set(r["values"])
            for n in served:
                if n not in got:
                    if n in in_flight and who == "wk":
                        missing_at_kill += 1
                    else:
                        missing += 1
        result[who] = {"series": len(rows), "checked_scrapes": len(served),
                       "samples": sum(len(r["values"]) for r in rows), "missing": missing,
                       "missing_in_flight_at_kill": missing_at_kill,
                       "duplicates": sum(len(r["timestamps"]) - len(set(r["timestamps"]))
                                         for r in rows)}
    vm.proc.stop()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["throughput", "send", "outage"])
    ap.add_argument("--series", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--outage-seconds", type=float, default=600)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-rw-"))
    ratio = None
    try:
        if args.only in (None, "outage"):
            o = outage(work, args.outage_seconds)
            wk, prom = o["wk"], o["prom"]
            print(f"outage {args.outage_seconds:.0f} s, 1,000 series at 1 s, one kill -9 "
                  f"+ restart of watchkeeper halfway:")
            for who, r in (("watchkeeper", wk), ("prometheus agent", prom)):
                print(f"  {who:17} series {r['series']}, scrapes checked "
                      f"{r['checked_scrapes']}, samples stored {r['samples']:,}, missing "
                      f"{r['missing']} (+{r['missing_in_flight_at_kill']} in flight at the "
                      f"kill), duplicates {r['duplicates']}, drained in "
                      f"{o['drain_s']['wk' if who == 'watchkeeper' else 'prom'] or 0:.1f} s")
            print(f"  watchkeeper RSS growth {o['rss_growth'] / MiB:.1f} MiB (goal <= 64)")
            print(f"  goals: 0 lost {'met' if wk['missing'] == 0 else 'NOT met'}; drained "
                  f"<= 120 s {'met' if (o['drain_s']['wk'] or 1e9) <= 120 else 'NOT met'}; "
                  f"RSS <= 64 MiB {'met' if o['rss_growth'] <= 64 * MiB else 'NOT met'}")
        if args.only in (None, "send"):
            p = send_path(work)
            print(f"send path alone: a backlog of {p['queued']:,} samples drained into "
                  f"VictoriaMetrics: {p['samples_per_s']:,.0f} samples/s on {p['cores']:.2f} "
                  f"cores ({p['per_core']:,.0f} per core of CPU), {p['shards']} shards at the "
                  f"end, stored {p['stored']:,}")
        if args.only in (None, "throughput"):
            t = throughput(work, args.series, args.seconds)
            print(f"throughput, {t['offered_per_s']:,} samples/s offered, "
                  f"{args.seconds:.0f} s, 2,000-sample batches into VictoriaMetrics:")
            for who, name in (("wk", "watchkeeper --agent"), ("prom", "prometheus agent")):
                r = t[who]
                print(f"  {name:20} {r['samples_per_s']:>10,.0f} samples/s on "
                      f"{r['cores']:.2f} cores ({r['samples_per_s'] / max(r['cores'], 1e-9):,.0f}"
                      f" per core)")
            wk = t["wk"]
            # every offered sample delivered, to a part in a thousand: the window's edges
            # can leave a scrape's few samples out of the count (the anchor's too)
            kept_up = (t["offered_per_s"] >= 100_000
                       and wk["samples_per_s"] >= 0.999 * t["offered_per_s"])
            print(f"  goal >= 100,000 samples/s on <= 1 core: "
                  f"{'met' if kept_up and wk['cores'] <= 1 else 'NOT met'}"
                  f" (backlog at the end: {wk['pending_at_end']:,.0f})")
            ratio = wk["samples_per_s"] / max(t["prom"]["samples_per_s"], 1e-9)
        if ratio is not None:
            print(f"ratio (ours/anchor, samples/s): {ratio:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
