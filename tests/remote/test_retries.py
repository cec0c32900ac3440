"""What a sink's answer does to a batch: 5xx resent, 4xx dropped, 429 only when asked."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from watchkeeper.config.models import RemoteWriteConfig
from watchkeeper.remote import RemoteWrite
from watchkeeper.server.remote_write import decode_snappy_write_request
from watchkeeper.tsdb import Store


class Sink:
    """A local remote-write receiver answering from a script, then 200."""

    def __init__(self, answers: list[tuple[int, dict[str, str]]]) -> None:
        self.answers = list(answers)
        self.bodies: list[list] = []
        self.statuses: list[int] = []
        self.headers: list[dict[str, str]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, extra = sink.answers.pop(0) if sink.answers else (200, {})
                sink.bodies.append(decode_snappy_write_request(body))
                sink.statuses.append(status)
                sink.headers.append(dict(self.headers))
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/write"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(probe, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


@pytest.fixture
def run(tmp_path):
    made = []

    def start(answers, **queue):
        sink = Sink(answers)
        store = Store.open(tmp_path / "data", background=False)
        cfg = RemoteWriteConfig(url=sink.url, name="t", headers={"X-Scope-OrgID": "team"},
                                queue_config={"batch_send_deadline": 0.05,
                                              "min_backoff": 0.01, **queue})
        remote = RemoteWrite(store, [cfg], tmp_path / "remote")
        remote.start()
        made.append((sink, store, remote))
        for i in range(3):
            store.append({"__name__": "m", "i": str(i)}, 1000, float(i))
        store.commit()
        return sink, remote

    yield start
    for sink, store, remote in made:
        remote.stop()
        store.close()
        sink.close()


def counter(remote, attr):
    labels = {"remote_name": "t", "url": remote.senders[0].cfg.url}
    return remote.metrics.registry.get_sample_value(
        f"prometheus_remote_storage_{attr}_total", labels)


def test_500_then_200_resends_the_batch(run):
    sink, remote = run([(500, {}), (503, {})])
    wait_for(lambda: sink.statuses[-1:] == [200])
    assert sink.statuses == [500, 503, 200]
    assert sink.bodies[0] == sink.bodies[1] == sink.bodies[2]
    assert sorted(s[0]["i"] for s in sink.bodies[2]) == ["0", "1", "2"]
    assert sink.headers[0]["X-Scope-OrgID"] == "team"
    assert sink.headers[0]["Content-Encoding"] == "snappy"
    assert counter(remote, "samples_retried") == 6


def test_400_is_not_resent(run):
    sink, remote = run([(400, {})])
    wait_for(lambda: counter(remote, "samples_failed") == 3)
    time.sleep(0.5)
    assert sink.statuses == [400]


def test_429_not_resent_unless_configured(run):
    sink, remote = run([(429, {})])
    wait_for(lambda: counter(remote, "samples_failed") == 3)
    time.sleep(0.5)
    assert sink.statuses == [429]


def test_429_resent_after_retry_after_when_configured(run):
    sink, _ = run([(429, {"Retry-After": "1"})], retry_on_http_429=True)
    wait_for(lambda: sink.statuses[-1:] == [200])
    assert sink.statuses == [429, 200]
    assert sink.bodies[0] == sink.bodies[1]


def test_remote_write_behind_rule_fires_on_a_stuck_queue(tmp_path):
    from watchkeeper.alerting.packs import load_pack
    from watchkeeper.promql.engine import Engine

    rule = next(r for g in load_pack("remote_write") for r in g.rules
                if r.name == "RemoteWriteBehind")
    store = Store.open(tmp_path / "rules", background=False)
    target = {"job": "watchkeeper", "instance": "a"}
    for t in range(0, 600, 15):
        store.append({"__name__": "prometheus_remote_storage_highest_timestamp_in_seconds",
                      **target}, t * 1000, float(t))
        for name, sent in (("vm", t), ("mimir", min(t, 100))):  # mimir stuck at 100 s
            store.append({"__name__": "prometheus_remote_storage_queue_highest_sent_"
                          "timestamp_seconds", **target, "remote_name": name,
                          "url": f"http://{name}"}, t * 1000, float(sent))
    store.commit()
    result = Engine(store).instant(rule.expr, 590_000).value
    store.close()
    firing = [dict(lbl)["remote_name"] for lbl, ok in zip(result.labels, result.mask[:, 0],
                                                          strict=True) if ok]
    assert firing == ["mimir"]
