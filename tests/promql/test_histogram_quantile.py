"""histogram_quantile: the many-steps-at-once path agrees with the one-step definition."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.promql.functions_instant import _quantiles_all_present, bucket_quantile

BOUNDS = st.lists(st.sampled_from([-1.0, 0.0, 0.1, 0.5, 1.0, 2.5, 10.0]), min_size=1,
                  max_size=5).map(lambda b: [*sorted(b), float("inf")])


@settings(max_examples=300, deadline=None)
@given(BOUNDS, st.data())
def test_vectorised_equals_scalar_definition(bounds, data):
    steps = 4
    counts = np.array([[data.draw(st.integers(0, 20)) for _ in range(steps)] for _ in bounds],
                      dtype=float)
    qs = np.array([data.draw(st.sampled_from([0.0, 0.25, 0.5, 0.9, 0.99, 1.0, -0.1, 1.1]))
                   for _ in range(steps)])
    fast = _quantiles_all_present(qs, bounds, counts)
    for s in range(steps):
        slow = bucket_quantile(float(qs[s]), list(zip(bounds, counts[:, s], strict=True)))
        assert np.isnan(slow) if np.isnan(fast[s]) else fast[s] == slow, (bounds, counts[:, s])


def test_edge_cases_follow_prometheus():
    inf = float("inf")
    assert np.isnan(bucket_quantile(0.5, [(1.0, 5.0), (2.0, 10.0)]))  # no +Inf bucket
    assert np.isnan(bucket_quantile(0.5, [(inf, 10.0)]))  # fewer than two buckets
    assert np.isnan(bucket_quantile(0.5, [(1.0, 0.0), (inf, 0.0)]))  # no observations
    assert bucket_quantile(0.99, [(1.0, 5.0), (inf, 10.0)]) == 1.0  # in +Inf: highest bound
    assert bucket_quantile(0.5, [(1.0, 5.0), (2.0, 15.0), (inf, 20.0)]) == 1.5
    assert bucket_quantile(-1, [(1.0, 5.0), (inf, 10.0)]) == -inf
    assert bucket_quantile(2, [(1.0, 5.0), (inf, 10.0)]) == inf
