"""``/api/v1/status/remote_write``: each endpoint's queue, counts and last error, read through
the HTTP API of a running server writing to a real VictoriaMetrics, a sink that is down and
a sink that refuses every request."""

import json
import time

import pytest
from inprocess import served_app
from test_retries import Sink
from tests.peers import free_port

PASSWORD = "hunter2-remote-pw"
TOKEN = "tok3n-in-the-query"


def _wait_for(probe, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)


@pytest.fixture
def refusing():
    sink = Sink([(400, {})] * 10_000)
    yield sink
    sink.close()


def _config(vm_url: str, down_url: str, refusing_url: str) -> str:
    queue = ("    queue_config: {batch_send_deadline: 0.1s, min_backoff: 50ms, "
             "max_backoff: 200ms}\n")
    return ("collect_host: false\nremote_write:\n"
            f"  - url: {vm_url}\n    name: vm\n{queue}"
            f"  - url: {down_url}\n    name: down\n{queue}"
            f"  - url: {refusing_url}\n    name: refusing\n{queue}")


def test_status_shows_each_endpoint_its_queue_counts_and_last_error(tmp_path, victoria,
                                                                      refusing):
    down = (f"http://writer:{PASSWORD}@127.0.0.1:{free_port()}/api/v1/write"
            f"?token={TOKEN}")
    with served_app(tmp_path, _config(victoria.write_url, down, refusing.url)) as (client, _):
        # ten minutes ahead: the newest sample of every queue, whatever the server collects
        # of itself (also written) while the test runs, so the highest timestamps are these
        now = int(time.time() * 1000) + 600_000
        text = "".join(f"status_probe{{n=\"{i}\"}} {i} {now}\n" for i in range(50))
        assert client.post("/api/v1/import/prometheus", content=text).status_code == 204

        def endpoints():
            r = client.get("/api/v1/status/remote_write")
            assert r.status_code == 200
            body = r.json()
            assert body["status"] == "success"
            return {e["name"]: e for e in body["data"]["remoteWrite"]}, r.text

        def settled():
            found, text = endpoints()
            vm, dn, rf = found["vm"], found["down"], found["refusing"]
            if (vm["pendingSamples"] == 0 and vm["samples"]["sent"] >= 50
                    and dn["samples"]["retried"] >= 50 and rf["samples"]["failed"] >= 50
                    and rf["pendingSamples"] == 0):  # the server's own samples keep coming
                return found, text
            return None

        found, raw = _wait_for(settled)
        assert PASSWORD not in raw and TOKEN not in raw
        assert found["down"]["url"].startswith("http://<secret>@127.0.0.1:")
        assert found["down"]["url"].endswith("/api/v1/write?token=<secret>")

        vm = found["vm"]
        assert vm["url"] == victoria.write_url
        assert vm["samples"]["failed"] == 0 and vm["samples"]["retried"] == 0
        assert vm["lastError"] is None
        assert vm["acknowledged"]["time"] is not None and vm["lastSuccess"] is not None
        assert vm["acknowledged"]["offset"] > 0
        assert vm["highestSentTimestamp"] == now / 1000
        assert vm["behindSeconds"] == 0
        assert vm["shards"]["current"] >= vm["shards"]["min"] == 1
        exported = _wait_for(lambda: len(victoria.export('{__name__="status_probe"}',
                                                         end=now / 1000 + 60)) == 50)
        assert exported

        dn = found["down"]
        assert dn["pendingSamples"] >= 50  # nothing was taken: all of it waits on disk
        assert dn["backlog"]["segments"] >= 1 and dn["backlog"]["bytes"] > 0
        assert dn["acknowledged"]["time"] is None and dn["acknowledged"]["offset"] == 0
        assert dn["lastSuccess"] is None and dn["highestSentTimestamp"] is None
        assert dn["highestQueuedTimestamp"] == now / 1000
        assert dn["samples"]["failed"] == 0
        assert "connection error" in dn["lastError"]["message"]
        assert dn["lastError"]["time"] <= time.time()

        rf = found["refusing"]
        assert rf["pendingSamples"] == 0  # refused for good: settled, not resent
        assert rf["samples"]["retried"] == 0
        assert rf["lastError"]["message"].startswith("HTTP 400")
        assert rf["acknowledged"]["time"] is not None

        other = client.get("/api/v1/status/remote_write").json()["data"]
        assert other["otlpExport"] == []
        assert json.dumps(other).count(PASSWORD) == 0


def test_status_without_remote_write_lists_nothing(tmp_path):
    with served_app(tmp_path) as (client, _):
        r = client.get("/api/v1/status/remote_write")
        assert r.json() == {"status": "success",
                            "data": {"remoteWrite": [], "otlpExport": []}}
