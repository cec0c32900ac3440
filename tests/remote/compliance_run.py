"""One run of a remote-write sender for the compliance checks: scrape targets of every case,
remote-write to endpoints that each misbehave in one scripted way, record what arrives.

The cases are those of the Prometheus remote-write sender compliance suite (1.0 cases, and
the parts of the 2.0 checklist that apply to 1.0). All cases share one run per sender: each
case is its own scrape job (job label = case name), each retry behaviour its own endpoint.
The same run drives watchkeeper and, as the control, Prometheus 2.42 in agent mode.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rwcapture import Endpoint, Receiver

from peers import free_port, require_binary

MAX_PER_SEND = 500
HUGE = "v" * 10_240
LONG_NAME = "a_very_long_metric_name_" + "x" * 230
UNICODE = "héllo wörld ✓ 日本"
SPECIAL = 'quote " backslash \\ newline \n end'


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Pages:
    """The exposition of every case; stateful ones change per scrape, as in the suite."""

    def __init__(self) -> None:
        self.counter = 0
        self.stale_scraped = False
        self.lock = threading.Lock()

    def counter_page(self) -> str:
        with self.lock:
            n, self.counter = self.counter, self.counter + 1
        return ("# HELP counter_total Scrapes so far.\n# TYPE counter_total counter\n"
                f"counter_total {n}\n")

    def stale_page(self) -> str:
        with self.lock:
            first, self.stale_scraped = not self.stale_scraped, True
        text = "# TYPE still gauge\nstill 1\n"
        return text + ("# TYPE stale gauge\nstale 1\n" if first else "")

    @staticmethod
    def now_page() -> str:
        return f"# HELP now Unix time in ms.\n# TYPE now gauge\nnow {time.time() * 1000:.0f}\n"

    def all(self) -> dict[str, Any]:
        static = {
            "gauge": "# HELP gauge A constant.\n# TYPE gauge gauge\ngauge 42\n",
            "histogram": ("# HELP histogram Observed 1 and 2.\n# TYPE histogram histogram\n"
                          'histogram_bucket{le="1"} 1\nhistogram_bucket{le="2"} 2\n'
                          'histogram_bucket{le="+Inf"} 2\nhistogram_sum 3\nhistogram_count 2\n'),
            "summary": ("# HELP summary Observed 1, 2 and 3.\n# TYPE summary summary\n"
                        'summary{quantile="0.5"} 2\nsummary{quantile="0.9"} 3\n'
                        'summary{quantile="0.99"} 3\nsummary_sum 6\nsummary_count 3\n'),
            "invalid": "# this is not valid prometheus\n1234notvali}{ 444\n",
            "sorted_labels": '# HELP test A gauge\n# TYPE test gauge\ntest{b="2",a="1"} 1.0\n',
            "repeated_labels": '# HELP test A gauge\n# TYPE test gauge\ntest{a="1",a="1"} 1.0\n',
            "empty_labels": '# HELP test A gauge\n# TYPE test gauge\ntest{a=""} 1.0\n',
            "name_label": '# HELP test A gauge\n# TYPE test gauge\n{label="value"} 1.0\n',
            "honor_labels": ('# HELP test A gauge\n# TYPE test gauge\n'
                             'test{job="original",instance="foo"} 1.0\n'),
            "ordering": "# TYPE test gauge\n" + "".join(f'test{{i="{i}"}} 1\n'
                                                       for i in range(1000)),
            "empty": "",
            "odd_values": ("# TYPE odd gauge\n"
                           'odd{v="nan"} NaN\nodd{v="inf"} +Inf\nodd{v="-inf"} -Inf\n'
                           'odd{v="zero"} 0\nodd{v="negative"} -1.5\n'
                           'odd{v="tiny"} 1.2345678901234567e-300\n'
                           'odd{v="precise"} 0.30000000000000004\n'
                           'odd{v="huge"} 1.7976931348623157e+308\n'),
            "odd_labels": ("# TYPE odd_label gauge\n"
                           f'odd_label{{v="{_esc(UNICODE)}"}} 1\n'
                           f'odd_label{{v="{_esc(SPECIAL)}"}} 2\n'
                           f'odd_label{{v="{HUGE}"}} 3\n'
                           f"# TYPE {LONG_NAME} gauge\n{LONG_NAME} 4\n"
                           "# TYPE rule:with:colons gauge\nrule:with:colons 5\n"),
        }
        pages: dict[str, Any] = {f"/metrics/{k}": (lambda v=v: v) for k, v in static.items()}
        pages["/metrics/counter"] = self.counter_page
        pages["/metrics/staleness"] = self.stale_page
        pages["/metrics/now"] = self.now_page
        return pages


CASES = ["counter", "gauge", "histogram", "summary", "invalid", "sorted_labels",
         "repeated_labels", "empty_labels", "name_label", "honor_labels", "ordering", "empty",
         "odd_values", "odd_labels", "staleness", "now"]


def endpoints() -> list[Endpoint]:
    out = [Endpoint("main", jitter=0.2), Endpoint("junk200", junk=True), Endpoint("sparse"),
           Endpoint("slow", first_delay=3.0), Endpoint("always500", always_status=500),
           Endpoint("r429", first_status=429, retry_after="2")]
    out += [Endpoint(f"r{code}", first_status=code, error_body=100_000 if code == 500 else 64)
            for code in (400, 401, 404, 413, 500, 502, 503)]
    return out


def remote_write(receiver: Receiver, late_url: str) -> list[dict[str, Any]]:
    queue = {"max_samples_per_send": MAX_PER_SEND, "batch_send_deadline": "1s",
             "min_backoff": "100ms", "max_backoff": "2s", "retry_on_http_429": True}
    # a short timeout only where the test is the timeout: elsewhere a loaded machine's slow
    # answer must not pass for a lost one
    entries = [{"url": receiver.write_url(name), "name": name,
                "remote_timeout": "1s" if name == "slow" else "10s",
                "queue_config": queue, "metadata_config": {"send": True, "send_interval": "2s"}}
               for name in receiver.endpoints if name != "sparse"]
    entries.append({"url": late_url, "name": "late", "remote_timeout": "1s",
                    "queue_config": queue, "metadata_config": {"send": False}})
    entries.append({"url": receiver.write_url("sparse"), "name": "sparse",
                    "queue_config": queue, "metadata_config": {"send": False},
                    "write_relabel_configs": [{"source_labels": ["job", "__name__"],
                                               "regex": "gauge;gauge", "action": "keep"}]})
    return entries


def scrape_configs(receiver: Receiver) -> list[dict[str, Any]]:
    return [{"job_name": case, "metrics_path": f"/metrics/{case}", "scrape_interval": "1s",
             "scrape_timeout": "1s",
             "static_configs": [{"targets": [f"127.0.0.1:{receiver.port}"]}]}
            for case in CASES]


class Run:
    """One sender's run: its receiver, its pages, the late endpoint and the process."""

    def __init__(self, sender: str, workdir: Path) -> None:
        self.sender = sender
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.pages = Pages()
        self.receiver = Receiver(endpoints(), self.pages.all()).start()
        self.late_port = free_port()
        self.late_ep = Endpoint("late")  # nothing listens on its port until open_late
        self.late: Receiver | None = None
        self.late_url = f"http://127.0.0.1:{self.late_port}/write/late"
        self.proc: subprocess.Popen | None = None
        self.started = self.stopped = self.late_opened = 0.0

    @property
    def ep(self) -> dict[str, Endpoint]:
        return {**self.receiver.endpoints, "late": self.late_ep}

    def config(self) -> dict[str, Any]:
        return {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                "scrape_configs": scrape_configs(self.receiver),
                "remote_write": remote_write(self.receiver, self.late_url)}

    def start(self) -> None:
        log = (self.workdir / "sender.log").open("wb")
        self.started = time.time() * 1000
        if self.sender == "prometheus":
            path = self.workdir / "prometheus.yml"
            path.write_text(json.dumps(self.config()))
            args = [require_binary("prometheus"), "--enable-feature=agent",
                    f"--config.file={path}", f"--storage.agent.path={self.workdir / 'agent'}",
                    f"--web.listen-address=127.0.0.1:{free_port()}"]
        else:
            config = {**self.config(), "collect_host": False,
                      "storage": {"mode": "agent"} if self.sender == "watchkeeper-agent" else {},
                      "web": {"listen_address": f"127.0.0.1:{free_port()}"}}
            path = self.workdir / "watchkeeper.yml"
            path.write_text(json.dumps(config))
            args = [sys.executable, "-m", "watchkeeper.cli.main", "serve", "--config",
                    str(path), "--data", str(self.workdir / "data")]
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.workdir)
        log.close()

    def open_late(self) -> None:
        self.late = Receiver([self.late_ep], port=self.late_port).start()
        self.late_opened = time.time() * 1000

    def done(self) -> bool:
        """Enough seen: several counter scrapes delivered, the late endpoint fed, every
        first-refused endpoint past its refusal, metadata sent."""
        ep = self.ep
        counters = [s for s in ep["main"].accepted_samples()
                    if s.map.get("__name__") == "counter_total"]
        firsts = [ep[n] for n in ep if n.startswith("r") or n == "slow"]
        return (len(counters) >= 4 and bool(ep["late"].accepted_samples())
                and all(len(e.accepted) >= 2 for e in firsts)
                and any(r.metadata for r in ep["main"].requests)
                and len(ep["always500"].requests) >= 5)

    def stop(self) -> None:
        self.stopped = time.time() * 1000
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)  # Prometheus waits up to a minute on a sink that fails
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.receiver.stop()
        if self.late is not None:
            self.late.stop()

    def log(self) -> str:
        return (self.workdir / "sender.log").read_text(errors="replace")[-4000:]


def run_all(senders: list[str], workdir: Path, timeout: float = 40.0,
            late_after: float = 2.5) -> dict[str, Run]:
    """Run every sender at once until each has shown every behaviour (or ``timeout``).
    The late endpoint starts listening ``late_after`` seconds after the sender's first
    delivery elsewhere."""
    runs = {s: Run(s, workdir / s) for s in senders}
    try:
        for r in runs.values():
            r.start()
        begin = time.monotonic()
        while time.monotonic() - begin < timeout:
            for r in runs.values():
                first = r.ep["main"].accepted
                if r.late is None and first and time.time() - first[0].at > late_after:
                    r.open_late()
            if all(r.late is not None and r.done() for r in runs.values()):
                break
            for r in runs.values():
                assert r.proc is not None
                if r.proc.poll() is not None:
                    raise AssertionError(f"{r.sender} exited:\n{r.log()}")
            time.sleep(0.25)
        time.sleep(1.5)  # the last partial batches
    finally:
        for r in runs.values():
            r.stop()
    return runs
