"""Samples pushed into a running ``watchkeeper serve`` (its remote-write receiver)."""

from serve_process import ServeProcess

from watchkeeper.remote.encode import snappy
from watchkeeper.server.remote_write import encode_write_request

SERIES = 5


def push(wk: ServeProcess, first_ts: int, count: int) -> int:
    """``count`` timestamps for each of ``SERIES`` series, pushed through remote write in."""
    samples = [({"__name__": "rwtest_value", "s": str(s)}, first_ts + i * 1000, float(i))
               for i in range(count) for s in range(SERIES)]
    r = wk.client.post("/api/v1/write", content=snappy(encode_write_request(samples)),
                       headers={"Content-Encoding": "snappy",
                                "Content-Type": "application/x-protobuf"})
    assert r.status_code == 204, r.text
    return len(samples)
