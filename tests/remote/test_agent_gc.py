"""Agent mode forgets series that stopped, and that loses nothing: every sample of a
forgotten series still reaches the sink with its labels, and neither the store, the queue's
reader nor the sender's caches keep series that are gone."""

import time

from inprocess import served_app
from test_retries import Sink, wait_for

from watchkeeper.config.models import RemoteWriteConfig
from watchkeeper.remote import RemoteWrite
from watchkeeper.tsdb.agent import AgentStore

STEADY, PER_ROUND, ROUNDS = 50, 300, 20


def test_series_forgotten_while_the_sink_is_down_still_arrive_and_memory_is_bounded(tmp_path):
    sink = Sink([(503, {})] * 40)  # down for the first 40 requests
    store = AgentStore.open(tmp_path / "agent")
    cfg = RemoteWriteConfig(url=sink.url, name="t",
                            queue_config={"batch_send_deadline": 0.05, "min_backoff": 0.01,
                                          "max_backoff": 0.05, "max_samples_per_send": 500,
                                          "min_shards": 4, "max_shards": 4})
    remote = RemoteWrite(store, [cfg], tmp_path / "remote")
    sender = remote.senders[0]
    sender.queue.segment_bytes = 16 << 10  # many small segments, so the reader moves on
    remote.start()
    try:
        for r in range(ROUNDS):
            t = (r + 1) * 10_000
            store.append_many(
                [({"__name__": "steady", "i": str(i)}, t, float(r)) for i in range(STEADY)]
                + [({"__name__": "churn", "round": str(r), "i": str(i)}, t, float(i))
                   for i in range(PER_ROUND)])
            store.commit()
            assert store.gc(t) == (PER_ROUND if r else 0)
            assert len(store.head.by_id) == STEADY + PER_ROUND
        assert sink.statuses[:1] == [503]  # series were forgotten while it was down
        wait_for(lambda: sender.pending == 0, 60)
        got = [s for body in sink.bodies[sink.statuses.count(503):] for s in body]
        assert len(got) == ROUNDS * (STEADY + PER_ROUND)
        churn = {(s[0]["round"], s[0]["i"]) for s in got if s[0]["__name__"] == "churn"}
        assert len(churn) == ROUNDS * PER_ROUND  # every forgotten series, with its labels
        assert all(float(s[0]["i"]) == s[2] for s in got if s[0]["__name__"] == "churn")
        # what the reader and the sender keep: the series of the segments still read
        bound = 3 * (STEADY + PER_ROUND)  # a few small segments' series
        seen = STEADY + ROUNDS * PER_ROUND
        # the caches are pruned to the live series after the batch that moved the reader on
        # (the wait covers the last batch's acknowledgement, just after pending reads 0)
        wait_for(lambda: len(sender.queue.labels) <= bound
                 and len(sender._blocks) <= 2 * bound + 1025
                 and len(sender._headers) <= 2 * bound + 1025, 10)
        assert 2 * bound + 1025 < seen
    finally:
        remote.stop()
        store.close()
        sink.close()


def test_serve_agent_forgets_series_after_max_wal_time(tmp_path):
    """``storage.agent`` in a served config: series pushed once are gone from the agent's
    head after ``max_wal_time``, as ``/api/v1/status/tsdb`` shows."""
    sink = Sink([])
    config = (f"collect_host: false\nstorage: {{mode: agent, agent: {{truncate_frequency: "
              f"200ms, min_wal_time: 0s, max_wal_time: 1s}}}}\nremote_write:\n"
              f"  - url: {sink.url}\n    queue_config: {{batch_send_deadline: 50ms}}\n")
    try:
        with served_app(tmp_path, config) as (client, _service):
            now = int(time.time() * 1000)
            text = "".join(f'pushed_once{{i="{i}"}} 1 {now}\n' for i in range(100))
            assert client.post("/api/v1/import/prometheus", content=text).status_code == 204

            def tsdb():
                return client.get("/api/v1/status/tsdb").json()["data"]

            assert tsdb()["watchkeeper"]["mode"] == "agent"
            # a gc that ran while the import was still appending finds the series again
            # (their samples came after it); the one after max_wal_time removes them
            wait_for(lambda: tsdb()["watchkeeper"]["removed_series"] >= 100
                     and tsdb()["headStats"]["numSeries"] == 0, 30)
            wait_for(lambda: sum(len(b) for b in sink.bodies) >= 100, 30)
    finally:
        sink.close()
