from watchkeeper.tsdb.index import LabelIndex
from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import Matcher


def build(n: int) -> tuple[LabelIndex, dict[int, Labels]]:
    index, by_id = LabelIndex(), {}
    for i in range(n):
        labels = {"__name__": f"metric_{i % 100}", "instance": f"host-{i % 1000}", "shard": str(i)}
        if i % 2:
            labels["env"] = "prod"
        by_id[i] = Labels.of(labels)
        index.add(i, by_id[i])
    return index, by_id


def brute(by_id, matchers):
    return {i for i, lab in by_id.items() if all(m.matches(lab.get(m.name)) for m in matchers)}


def test_matchers_over_100k_series_equal_a_full_scan():
    index, by_id = build(100_000)
    cases = [
        [Matcher("__name__", "=", "metric_7")],
        [Matcher("__name__", "=", "metric_7"), Matcher("instance", "=~", "host-(1|2)07")],
        [Matcher("instance", "=~", "host-99.")],
        [Matcher("__name__", "=~", "metric_1.*"), Matcher("env", "!=", "prod")],
        [Matcher("__name__", "=", "metric_3"), Matcher("env", "=", "")],
        [Matcher("__name__", "=", "metric_3"), Matcher("env", "!~", ".+")],
        [Matcher("shard", "=", "12345")],
        [Matcher("__name__", "=", "nope")],
    ]
    for matchers in cases:
        assert index.select(matchers) == brute(by_id, matchers), matchers
    assert len(index.select([Matcher("__name__", "=", "metric_7")])) == 1000


def test_label_names_and_values_and_removal():
    index, by_id = build(10)
    assert index.label_names() == ["__name__", "env", "instance", "shard"]
    assert index.label_names([0, 2]) == ["__name__", "instance", "shard"]
    assert index.label_values("env") == ["prod"]
    index.remove(1, by_id[1])
    assert 1 not in index.select([Matcher("shard", "=", "1")])
    assert index.label_values("shard") == sorted(str(i) for i in range(10) if i != 1)
