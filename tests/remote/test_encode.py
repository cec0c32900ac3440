"""Bodies we send decode with the server's own remote-write receiver."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.remote.encode import encode_labels, encode_request, snappy
from watchkeeper.server.remote_write import decode_snappy_write_request

names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True)
values = st.text(min_size=1, max_size=12)
series = st.fixed_dictionaries({"__name__": names}, optional={}).flatmap(
    lambda base: st.dictionaries(names.filter(lambda n: n != "__name__"), values,
                                 max_size=4).map(lambda extra: {**extra, **base}))
points = st.lists(st.tuples(st.integers(-(2**62), 2**62),
                            st.floats(allow_nan=True, allow_infinity=True)),
                  min_size=1, max_size=5)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(series, points), min_size=1, max_size=5))
def test_round_trip_through_our_receiver(data):
    request: dict[bytes, tuple[list[int], list[float]]] = {}
    expected = []
    for labels, pts in data:
        block = encode_labels(labels.items())
        ts, vals = request.setdefault(block, ([], []))
        for t, v in pts:
            ts.append(t)
            vals.append(v)
    for block, (ts, vals) in request.items():
        labels = next(lbl for lbl, _ in data if encode_labels(lbl.items()) == block)
        expected += [(labels, t, v) for t, v in zip(ts, vals, strict=True)]
    got = decode_snappy_write_request(snappy(encode_request(request)))
    assert len(got) == len(expected)
    for (gl, gt, gv), (el, et, ev) in zip(got, expected, strict=True):
        assert gl == el and gt == et
        assert (math.isnan(gv) and math.isnan(ev)) or gv == ev


def test_labels_are_sorted_by_name():
    body = encode_request({encode_labels([("z", "1"), ("__name__", "m"), ("a", "2")]):
                           ([5], [1.0])})
    (labels, ts, value), = decode_snappy_write_request(snappy(body))
    assert list(labels) == ["__name__", "a", "z"] and (ts, value) == (5, 1.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(series, st.integers(1, 2**62),
                          st.floats(allow_nan=False, allow_infinity=True)),
                min_size=1, max_size=20))
def test_one_series_per_sample_decodes_with_the_protobuf_runtime(data):
    import numpy as np
    from rwcapture import Request, decode

    from watchkeeper.remote.encode import encode_one_each, series_header, varint_size

    ts = np.array([t for _l, t, _v in data], dtype=np.int64)
    size = varint_size(ts)
    if not size:  # timestamps of different varint sizes take the grouped path
        ts = ts - ts + int(ts.max())
        size = varint_size(ts)
    heads = [series_header(encode_labels(labels.items()), size) for labels, _t, _v in data]
    vals = np.array([v for _l, _t, v in data], dtype=np.float64)
    req = Request(0.0, "POST", {}, snappy(encode_one_each(heads, ts, vals, size)))
    decode(req)
    assert not req.error and req.unknown == 0
    got = [(s.map, s.ts, s.value) for s in req.samples]
    assert got == [(dict(sorted(labels.items())), int(t), float(v))
                   for (labels, _t, _v), t, v in zip(data, ts, vals, strict=True)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(series, st.integers(2**42, 2**49 - 1), st.floats()), min_size=1,
                max_size=40))
def test_one_series_per_sample_is_the_reference_encoding_byte_for_byte(samples):
    """The batch-at-once encoding equals one ``encode_series`` call per sample (all these
    timestamps take 7-byte varints, as one batch's must)."""
    import numpy as np

    from watchkeeper.remote.encode import (
        encode_one_each,
        encode_series,
        series_header,
        varint_size,
    )

    blocks = [encode_labels(lb.items()) for lb, _, _ in samples]
    ts = np.array([t for _, t, _ in samples], dtype=np.int64)
    vals = np.array([v for _, _, v in samples], dtype=np.float64)
    assert varint_size(ts) == 7
    heads = [series_header(b, 7) for b in blocks]
    want = b"".join(encode_series(b, [t], [v])
                    for b, (_, t, v) in zip(blocks, samples, strict=True))
    assert encode_one_each(heads, ts, vals, 7) == want
