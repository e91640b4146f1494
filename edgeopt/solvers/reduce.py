"""Optimum-preserving reduction of a core problem: drop dominated columns.

A column is dominated when another column of the same item and the same bin is
no worse in cost and in every resource use; swapping it for its dominator never
raises a load or the objective, so the MILP optimum is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from edgeopt.core.problem import Problem

__all__ = ["Reduction", "reduce_problem", "drop_dominated"]

#: Pairs compared per vectorised batch (bounds the memory of one batch).
_PAIR_BATCH = 1 << 20


@dataclass(frozen=True)
class Reduction:
    """A reduced problem and how its columns map back.

    ``kept`` holds the original index of every reduced column (ascending);
    ``to_reduced[j]`` is the reduced column that replaces original column ``j``
    (itself if kept, else a kept column that dominates it).
    """

    problem: Problem
    kept: np.ndarray
    to_reduced: np.ndarray

    @property
    def removed(self) -> int:
        return int(self.to_reduced.shape[0] - self.kept.shape[0])


def _group_pairs(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs (a, b), a != b, of columns sharing item and bin."""
    n = problem.n_columns
    key = problem.col_item * max(problem.n_bins, 1) + problem.col_bin
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = (
        np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) if n else np.zeros(0, int)
    )
    sizes = np.diff(np.r_[starts, n])
    big = sizes > 1
    if not big.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    g_start, g_size = starts[big], sizes[big]
    # Every (p, q) in size x size for each group, built without a Python loop over groups.
    sq = g_size * g_size
    offs = np.repeat(np.cumsum(sq) - sq, sq)
    k = np.arange(int(sq.sum()), dtype=np.int64) - offs
    gs = np.repeat(g_size, sq)
    base = np.repeat(g_start, sq)
    pa = base + k // gs
    pb = base + k % gs
    keep = pa != pb
    return order[pa[keep]].astype(np.int64), order[pb[keep]].astype(np.int64)


def _dominance(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (a, b) where a dominates b (strictly, or a duplicate with lower index)."""
    pa, pb = _group_pairs(problem)
    use = sp.csc_array(problem.use)
    cost = problem.col_cost
    out_a, out_b = [], []
    for lo in range(0, pa.shape[0], _PAIR_BATCH):
        a, b = pa[lo : lo + _PAIR_BATCH], pb[lo : lo + _PAIR_BATCH]
        m = a.shape[0]
        no_worse = cost[a] <= cost[b]
        strict = cost[a] < cost[b]
        cand = np.flatnonzero(no_worse)
        if cand.size == 0:
            continue
        a, b, strict = a[cand], b[cand], strict[cand]
        m = a.shape[0]
        # diff[:, k] = use[:, a_k] - use[:, b_k]; a no worse iff every entry <= 0.
        sel = sp.csc_array(
            (
                np.r_[np.ones(m), -np.ones(m)],
                (np.r_[a, b], np.r_[np.arange(m), np.arange(m)]),
            ),
            shape=(problem.n_columns, m),
        )
        diff = sp.csc_array(use @ sel)
        diff.sum_duplicates()
        has_pos = np.zeros(m, dtype=bool)
        has_neg = np.zeros(m, dtype=bool)
        col_of = np.repeat(np.arange(m), np.diff(diff.indptr))
        has_pos[col_of[diff.data > 0]] = True
        has_neg[col_of[diff.data < 0]] = True
        dom = ~has_pos & (strict | has_neg | (a < b))
        out_a.append(a[dom])
        out_b.append(b[dom])
    if not out_a:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.ones(problem.n_columns, dtype=bool)
    da, db = np.concatenate(out_a), np.concatenate(out_b)
    keep = np.ones(problem.n_columns, dtype=bool)
    keep[db] = False
    return da, db, keep


def reduce_problem(problem: Problem) -> Reduction:
    """Drop dominated columns and remember, for each dropped one, a kept dominator."""
    da, db, keep = _dominance(problem)
    kept = np.flatnonzero(keep)
    new_index = np.full(problem.n_columns, -1, dtype=np.int64)
    new_index[kept] = np.arange(kept.shape[0], dtype=np.int64)
    to_reduced = new_index.copy()
    # Dominance is transitive and its minimal elements are kept, so every dropped
    # column has a kept dominator among its pairs.
    by_kept = keep[da]
    to_reduced[db[by_kept]] = new_index[da[by_kept]]
    reduced = problem if kept.shape[0] == problem.n_columns else problem.subset(keep)
    return Reduction(problem=reduced, kept=kept, to_reduced=to_reduced)


def drop_dominated(problem: Problem) -> tuple[Problem, int]:
    """The problem without dominated columns, and how many columns were dropped.

    Of identical columns (same item, bin, cost and use) exactly one, the lowest
    index, survives.

    Examples
    --------
    >>> p = Problem.from_columns(name="t", item_ids=["i"], bin_ids=["b"],
    ...     option_ids=["x", "y", "z"], resource_ids=["r"], col_item=[0, 0, 0],
    ...     col_bin=[0, 0, 0], col_option=[0, 1, 2], col_cost=[1.0, 2.0, 1.0],
    ...     use_rows=[0, 0, 0], use_cols=[0, 1, 2], use_vals=[3.0, 3.0, 3.0],
    ...     capacity=[5.0])
    >>> q, removed = drop_dominated(p)
    >>> removed, q.col_option.tolist()
    (2, [0])
    """
    red = reduce_problem(problem)
    return red.problem, red.removed
