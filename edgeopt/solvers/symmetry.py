"""Interchangeable bins of a core problem, and the load-ordering rows that break their symmetry.

Bins b and b' are interchangeable when swapping them — each column of b with
the column of b' for the same item and option, and b's private resources (used
by b's columns only) with b''s in the same order — maps the problem onto
itself: same costs, same capacities and balanced flags, same use of every
shared resource. Then any plan can be relabelled within a class of
interchangeable bins so that the loads of their first balanced private
resource (the controllers' compute) are in decreasing order, so adding
``load(b_1) ≥ load(b_2) ≥ …`` keeps an optimal plan and cuts the copies branch
and bound would otherwise explore.

Detection is exact (arrays compared, no hashing) and costs a few sorts of the
columns.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from edgeopt.core.problem import Problem
from edgeopt.solvers.local_search import ColumnIndex

__all__ = ["interchangeable_bins", "load_order_pairs"]


def _private_resources(p: Problem) -> dict[int, list[int]]:
    """Bin → its private resources (used by that bin's columns only), in resource order."""
    csr = p.use_csr
    lens = np.diff(csr.indptr)
    used = np.flatnonzero(lens > 0)
    if used.size == 0:
        return {}
    bins = p.col_bin[csr.indices]
    starts = csr.indptr[:-1][used]
    lo = np.minimum.reduceat(bins, starts)
    hi = np.maximum.reduceat(bins, starts)
    out: dict[int, list[int]] = {}
    for r, a, b in zip(used.tolist(), lo.tolist(), hi.tolist()):
        if a == b:
            out.setdefault(a, []).append(r)
    return out


def _canonical(p: Problem, b: int, private: list[int]) -> tuple[np.ndarray, ...] | None:
    """Bin ``b``'s columns as arrays sorted by (item, option), with private resources replaced
    by their rank (as -1 - rank); None when an (item, option) has two columns on ``b``."""
    cols = np.flatnonzero(p.col_bin == b)
    order = np.lexsort((p.col_option[cols], p.col_item[cols]))
    cols = cols[order]
    key = p.col_item[cols] * max(len(p.option_ids), 1) + p.col_option[cols]
    if np.any(key[1:] == key[:-1]):
        return None
    sub = sp.csc_array(p.use[:, cols])
    code = sub.indices.astype(np.int64)
    rank = np.full(p.n_resources, -1, dtype=np.int64)
    rank[private] = np.arange(len(private))
    is_priv = rank[code] >= 0
    code = np.where(is_priv, -1 - rank[code], code)
    owner = np.repeat(np.arange(cols.size), np.diff(sub.indptr))
    srt = np.lexsort((code, owner))
    return key, p.col_cost[cols], np.diff(sub.indptr), code[srt], sub.data[srt]


def interchangeable_bins(problem: Problem) -> list[list[int]]:
    """Classes (each of two or more bins, ascending) of interchangeable bins.

    >>> p = Problem.from_columns(name="t", item_ids=["a", "b"], bin_ids=["x", "y", "z"],
    ...     option_ids=["-"], resource_ids=["x", "y", "z"], col_item=[0, 0, 0, 1, 1, 1],
    ...     col_bin=[0, 1, 2, 0, 1, 2], col_option=[0] * 6, col_cost=[1.0, 1.0, 2.0, 3.0, 3.0, 3.0],
    ...     use_rows=[0, 1, 2, 0, 1, 2], use_cols=[0, 1, 2, 3, 4, 5], use_vals=[1.0] * 6,
    ...     capacity=[2.0, 2.0, 2.0], balanced=[True] * 3, balance_weight=1.0)
    >>> interchangeable_bins(p)
    [[0, 1]]
    """
    p = problem
    private = _private_resources(p)
    groups: dict[tuple[tuple[float, bool], ...], list[int]] = {}
    for b in range(p.n_bins):
        priv = private.get(b, [])
        if not priv:
            continue  # a bin with no resource of its own (the cloud) is never swapped
        sig = tuple((float(p.capacity[r]), bool(p.balanced[r])) for r in priv)
        groups.setdefault(sig, []).append(b)
    classes: list[list[int]] = []
    for members in groups.values():
        pending = list(members)
        while len(pending) > 1:
            head, rest = pending[0], pending[1:]
            ref = _canonical(p, head, private[head])
            same: list[int] = [head]
            other: list[int] = []
            for b in rest:
                cand = _canonical(p, b, private[b])
                ok = (
                    ref is not None
                    and cand is not None
                    and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(ref, cand))
                )
                (same if ok else other).append(b)
            if len(same) > 1:
                classes.append(same)
            pending = other
    return sorted(classes)


def load_order_pairs(problem: Problem, classes: list[list[int]]) -> list[tuple[int, int]]:
    """(r, r') resource pairs meaning load(r) ≥ load(r'): consecutive bins of each class, on
    their first balanced private resource (else their first private one)."""
    private = _private_resources(problem)
    pairs = []
    for cls in classes:
        priv = private[cls[0]]
        bal = [k for k, r in enumerate(priv) if problem.balanced[r]]
        role = bal[0] if bal else 0
        res = [private[b][role] for b in cls]
        pairs += list(zip(res[:-1], res[1:]))
    return pairs


def relabel_to_order(
    problem: Problem, assignment: np.ndarray, classes: list[list[int]]
) -> np.ndarray:
    """The same plan with bins relabelled within each class so it meets :func:`load_order_pairs`
    (an equivalent plan: same objective, same feasibility)."""

    p = problem
    a = np.asarray(assignment, dtype=np.int64).copy()
    private = _private_resources(p)
    index = ColumnIndex(p)
    loads = p.use @ np.bincount(a, minlength=p.n_columns).astype(np.float64)
    target = np.arange(p.n_bins)
    for cls in classes:
        priv = private[cls[0]]
        bal = [k for k, r in enumerate(priv) if p.balanced[r]]
        role = bal[0] if bal else 0
        load = np.array([loads[private[b][role]] for b in cls])
        by_load = np.asarray(cls)[np.argsort(-load, kind="stable")]
        target[by_load] = cls  # the most loaded bin becomes the class's first, and so on
    moved = target[p.col_bin[a]] != p.col_bin[a]
    items = np.flatnonzero(moved)
    a[items] = index.find(items, p.col_option[a[items]], target[p.col_bin[a[items]]])
    return a
