"""Relabeling as Prometheus does it."""

from __future__ import annotations

from watchkeeper.config import RelabelConfig
from watchkeeper.scrape import relabel


def cfg(**kw) -> RelabelConfig:
    return RelabelConfig(**kw)


def test_keep_and_drop_are_anchored() -> None:
    labels = {"__name__": "go_goroutines", "job": "a"}
    assert relabel(labels, [cfg(source_labels=["__name__"], regex="go", action="keep")]) is None
    assert relabel(labels, [cfg(source_labels=["__name__"], regex="go_.*",
                                action="keep")]) == labels
    assert relabel(labels, [cfg(source_labels=["__name__"], regex="go_.*",
                                action="drop")]) is None


def test_replace_with_groups_and_separator() -> None:
    out = relabel({"__address__": "host:9100", "env": "prod"}, [cfg(
        source_labels=["__address__", "env"], regex="(.*):\\d+;(.*)",
        target_label="node", replacement="${1}-$2")])
    assert out == {"__address__": "host:9100", "env": "prod", "node": "host-prod"}


def test_replace_to_empty_removes_the_label_and_no_match_changes_nothing() -> None:
    labels = {"a": "1", "b": "2"}
    assert relabel(labels, [cfg(source_labels=["a"], target_label="b", replacement="")]) == {
        "a": "1"}
    assert relabel(labels, [cfg(source_labels=["a"], regex="x", target_label="c")]) == labels


def test_labeldrop_and_labelkeep() -> None:
    labels = {"__name__": "m", "pod": "p", "pod_ip": "1.2.3.4"}
    assert relabel(labels, [cfg(regex="pod.*", action="labeldrop")]) == {"__name__": "m"}
    assert relabel(labels, [cfg(regex="__name__|pod", action="labelkeep")]) == {
        "__name__": "m", "pod": "p"}
