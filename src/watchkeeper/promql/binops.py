"""Binary operators: arithmetic, comparisons (filter or bool), set operators and
vector matching with on/ignoring and group_left/group_right, as Prometheus does them."""

from __future__ import annotations

import numpy as np

from watchkeeper.promql.ast import VectorMatching
from watchkeeper.promql.errors import PromQLEvalError
from watchkeeper.promql.values import Scalar, Vector, drop_name, merge_duplicates
from watchkeeper.tsdb.labels import METRIC_NAME, Labels

COMPARISON = {"==", "!=", "<=", "<", ">=", ">"}
DROPS_NAME = {"+", "-", "*", "/", "%", "^"}


def apply_op(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return np.divide(a, b)
        if op == "%":
            return np.fmod(a, b)
        if op == "^":
            return np.power(a, b)
        if op == "atan2":
            return np.arctan2(a, b)
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == ">":
            return a > b
        if op == "<=":
            return a <= b
        if op == ">=":
            return a >= b
    raise PromQLEvalError(f"unknown operator {op!r}")


def scalar_scalar(op: str, a: Scalar, b: Scalar) -> Scalar:
    out = apply_op(op, a.values, b.values)
    return Scalar(out.astype(np.float64))


def vector_scalar(op: str, vec: Vector, scalar: np.ndarray, scalar_left: bool,
                  return_bool: bool) -> Vector:
    left, right = (scalar[None, :], vec.values) if scalar_left else (vec.values, scalar[None, :])
    result = apply_op(op, left, right)
    if op in COMPARISON:
        if return_bool:
            return Vector([drop_name(lab) for lab in vec.labels], result.astype(np.float64),
                          vec.mask.copy())
        return Vector(list(vec.labels), vec.values, vec.mask & result, vec.sample_ts)
    labels = [drop_name(lab) for lab in vec.labels] if op in DROPS_NAME else list(vec.labels)
    return Vector(labels, result, vec.mask.copy())


def signature(labels: Labels, matching: VectorMatching | None) -> Labels:
    if matching is not None and matching.on:
        keep = set(matching.labels)
        return tuple.__new__(Labels, tuple(p for p in labels if p[0] in keep))
    drop = {METRIC_NAME, *(matching.labels if matching else ())}
    return tuple.__new__(Labels, tuple(p for p in labels if p[0] not in drop))


def _presence(vec: Vector, matching: VectorMatching | None) -> dict[Labels, np.ndarray]:
    present: dict[Labels, np.ndarray] = {}
    for lab, m in zip(vec.labels, vec.mask, strict=True):
        sig = signature(lab, matching)
        present[sig] = present[sig] | m if sig in present else m.copy()
    return present


def set_op(op: str, lhs: Vector, rhs: Vector, matching: VectorMatching | None) -> Vector:
    steps = lhs.values.shape[1]
    if op == "or":
        have = _presence(lhs, matching)
        none = np.zeros(steps, dtype=bool)
        rmask = np.array([m & ~have.get(signature(lab, matching), none)
                          for lab, m in zip(rhs.labels, rhs.mask, strict=True)],
                         dtype=bool).reshape(-1, steps)
        return merge_duplicates(lhs.labels + rhs.labels, np.concatenate((lhs.values, rhs.values)),
                                np.concatenate((lhs.mask, rmask))).compact()
    have = _presence(rhs, matching)
    none = np.zeros(steps, dtype=bool)
    masks = []
    for lab, m in zip(lhs.labels, lhs.mask, strict=True):
        other = have.get(signature(lab, matching), none)
        masks.append(m & other if op == "and" else m & ~other)
    mask = np.array(masks, dtype=bool).reshape(-1, steps)
    return Vector(list(lhs.labels), lhs.values, mask, lhs.sample_ts).compact()


def _describe(sig: Labels) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sig) + "}"


def _index_one_side(vec: Vector, matching: VectorMatching, side: str,
                    ) -> dict[Labels, tuple[list[int], np.ndarray, np.ndarray]]:
    """Rows of the 'one' side by signature, merged; overlapping duplicates are an error."""
    out: dict[Labels, tuple[list[int], np.ndarray, np.ndarray]] = {}
    for i, (lab, v, m) in enumerate(zip(vec.labels, vec.values, vec.mask, strict=True)):
        sig = signature(lab, matching)
        if sig in out:
            rows, vals, mask = out[sig]
            if (mask & m).any():
                raise PromQLEvalError(
                    f"found duplicate series for the match group {_describe(sig)} on the {side}"
                    " hand-side of the operation: [" + ", ".join(
                        str(vec.labels[r]) for r in (*rows, i)) + "];many-to-many matching not "
                    "allowed: matching labels must be unique on one side")
            out[sig] = ([*rows, i], np.where(m, v, vals), mask | m)
        else:
            out[sig] = ([i], v, m)
    return out


def _result_labels(many: Labels, one: Labels, op: str, matching: VectorMatching,
                   return_bool: bool) -> Labels:
    drop = op in DROPS_NAME or return_bool
    pairs = dict(many)
    if drop:
        pairs.pop(METRIC_NAME, None)
    if matching.card == "one-to-one":
        if matching.on:
            keep = set(matching.labels)
            pairs = {k: v for k, v in pairs.items() if k in keep}
        else:
            for name in matching.labels:
                pairs.pop(name, None)
    for name in matching.include:
        value = one.get(name)
        if value:
            pairs[name] = value
        else:
            pairs.pop(name, None)
    return Labels.of(pairs)


def vector_vector(op: str, lhs: Vector, rhs: Vector, matching: VectorMatching,
                  return_bool: bool) -> Vector:
    if matching.card == "many-to-many":
        raise PromQLEvalError("many-to-many only allowed for set operators")
    steps = lhs.values.shape[1]
    many, one = (rhs, lhs) if matching.card == "one-to-many" else (lhs, rhs)
    one_side = "left" if matching.card == "one-to-many" else "right"
    index = _index_one_side(one, matching, one_side)
    labels, vals, masks = [], [], []
    matched: dict[Labels, np.ndarray] = {}
    for lab, v, m in zip(many.labels, many.values, many.mask, strict=True):
        sig = signature(lab, matching)
        hit = index.get(sig)
        if hit is None:
            continue
        rows, ov, om = hit
        both = m & om
        if not both.any():
            continue
        if matching.card == "one-to-one":
            seen = matched.get(sig)
            if seen is not None and (seen & both).any():
                raise PromQLEvalError("multiple matches for labels: many-to-one matching must be "
                                      "explicit (group_left/group_right)")
            matched[sig] = both if seen is None else seen | both
        left, right = (ov, v) if matching.card == "one-to-many" else (v, ov)
        result = apply_op(op, left, right)
        if op in COMPARISON:
            if return_bool:
                value, keep = result.astype(np.float64), both
            else:
                value, keep = left, both & result
        else:
            value, keep = result, both
        labels.append(_result_labels(lab, one.labels[rows[0]], op, matching, return_bool))
        vals.append(value)
        masks.append(keep)
    if not labels:
        return Vector.empty(steps)
    return merge_duplicates(labels, np.array(vals), np.array(masks, dtype=bool)).compact()
