"""Constructive heuristics: regret greedy and seeded random construction.

Both keep running loads in numpy and test every remaining column against every
resource it uses at once (one pass over the sparse use matrix per step).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edgeopt.core.evaluate import FEAS_TOL
from edgeopt.core.problem import Problem
from edgeopt.solvers.base import SolveResult, finish, infeasible_result, register

__all__ = ["greedy", "random_construction", "Loads"]


class Loads:
    """Running resource loads of a partial assignment with vectorised fit tests."""

    def __init__(self, problem: Problem):
        self.p = problem
        use = problem.use
        self.indices = use.indices.astype(np.int64)
        self.data = use.data
        self.entry_col = np.repeat(np.arange(problem.n_columns, dtype=np.int64), np.diff(use.indptr))
        self.limit = problem.capacity * (1.0 + FEAS_TOL)
        self.load = np.zeros(problem.n_resources)
        self.bal_entry = problem.balanced[self.indices]

    def fits(self) -> np.ndarray:
        """Boolean per column: adding it keeps every resource within capacity."""
        over = (self.load[self.indices] + self.data) > self.limit[self.indices]
        bad = np.bincount(self.entry_col[over], minlength=self.p.n_columns)
        return bad == 0

    def bottleneck_after(self) -> np.ndarray:
        """Per column: max balanced load if it were added (current max where it uses none)."""
        cur = self.u_max()
        out = np.full(self.p.n_columns, cur)
        if self.bal_entry.any():
            e = self.bal_entry
            np.maximum.at(out, self.entry_col[e], self.load[self.indices[e]] + self.data[e])
        return out

    def u_max(self) -> float:
        b = self.p.balanced
        return float(max(self.load[b].max(), 0.0)) if b.any() else 0.0

    def add(self, j: int, sign: float = 1.0) -> None:
        lo, hi = self.p.use.indptr[j], self.p.use.indptr[j + 1]
        self.load[self.indices[lo:hi]] += sign * self.data[lo:hi]


def _segment_min(values: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Min of each non-empty segment [ptr[i], ptr[i+1]); inf for empty ones."""
    out = np.full(ptr.size - 1, np.inf)
    nonempty = ptr[1:] > ptr[:-1]
    if values.size:
        starts = ptr[:-1][nonempty]
        out[nonempty] = np.minimum.reduceat(values, starts)
    return out


def _regret_greedy(problem: Problem, resource_penalty: float) -> np.ndarray | None:
    """One regret-greedy pass; returns a complete assignment or None when stuck."""
    n, ptr = problem.n_items, problem.item_ptr
    col_item = problem.col_item
    loads = Loads(problem)
    # Share of each resource a column takes, summed: a tie-breaker that prefers light columns.
    share = np.asarray(problem.use.T @ (1.0 / problem.capacity)).ravel() if resource_penalty else 0.0
    scale = max(float(np.abs(problem.col_cost).max(initial=0.0)), 1e-12)
    assignment = np.full(n, -1, dtype=np.int64)
    open_item = np.ones(n, dtype=bool)
    idx = np.arange(problem.n_columns, dtype=np.float64)
    for _ in range(n):
        feasible = loads.fits() & open_item[col_item]
        u_next = loads.bottleneck_after()
        desir = problem.col_cost + problem.balance_weight * (u_next - loads.u_max())
        desir = desir + resource_penalty * scale * share
        d = np.where(feasible, desir, np.inf)
        best = _segment_min(d, ptr)
        stuck = open_item & ~np.isfinite(best)
        if stuck.any():
            return None
        is_best = feasible & (d == best[col_item])
        best_col = _segment_min(np.where(is_best, idx, np.inf), ptr)
        d2 = d.copy()
        valid_best = np.isfinite(best_col)
        d2[best_col[valid_best].astype(np.int64)] = np.inf
        second = _segment_min(d2, ptr)
        with np.errstate(invalid="ignore"):
            regret = np.where(open_item, second - best, -np.inf)  # inf when one column fits
        i = int(np.argmax(regret))
        j = int(best_col[i])
        assignment[i] = j
        open_item[i] = False
        loads.add(j)
    return assignment


@register("greedy", "regret greedy: assigns the item with the largest regret to its cheapest fitting column")
def greedy(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    penalties: tuple[float, ...] = (0.0, 0.01, 0.1),
    fallback_penalties: tuple[float, ...] = (1.0, 10.0, 100.0),
    **_: Any,
) -> SolveResult:
    """Regret greedy (Martello–Toth style) over a few desirability weightings; keeps the best.

    Desirability of a column: its cost plus the increase of the bottleneck term
    w_U·U it would cause, plus ``penalty``·max|c|·(its summed capacity shares).
    Each pass repeatedly takes the open item whose best and second-best fitting
    columns differ most and gives it its best column. When every pass gets stuck
    (tight capacities, e.g. OR-Library types C and D), passes with heavier
    ``fallback_penalties`` favour light columns to find a feasible plan first.
    Deterministic (``seed`` unused).
    """
    t0 = time.perf_counter()
    settings = {"seed": seed, "time_limit_s": time_limit_s, "penalties": list(penalties),
                "fallback_penalties": list(fallback_penalties)}
    bad = infeasible_result(problem, "greedy", started=t0, settings=settings)
    if bad is not None:
        return bad
    best: np.ndarray | None = None
    best_z = np.inf
    from edgeopt.core.evaluate import evaluate

    for group in (penalties, fallback_penalties):
        if best is not None:
            break
        for k, pen in enumerate(group):
            if k and time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
                break
            a = _regret_greedy(problem, pen)
            if a is None:
                continue
            ev = evaluate(problem, a)
            if ev.feasible and ev.objective < best_z - 1e-12:
                best, best_z = a, ev.objective
    if best is None:
        return finish(problem, "greedy", None, started=t0, status="error", settings=settings,
                      message="greedy found no feasible plan (every pass got stuck)")
    return finish(problem, "greedy", best, started=t0, settings=settings)


@register("random", "seeded random feasible construction (uniform over fitting columns)")
def random_construction(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    attempts: int = 20,
    **_: Any,
) -> SolveResult:
    """Random item order; each item takes a uniformly random fitting column.

    Restarts with a new order when an item has no fitting column, up to
    ``attempts`` times. Same seed, same plan.
    """
    t0 = time.perf_counter()
    settings = {"seed": seed, "time_limit_s": time_limit_s, "attempts": attempts}
    bad = infeasible_result(problem, "random", started=t0, settings=settings)
    if bad is not None:
        return bad
    rng = np.random.default_rng(seed)
    ptr = problem.item_ptr
    for _attempt in range(attempts):
        loads = Loads(problem)
        a = np.full(problem.n_items, -1, dtype=np.int64)
        ok = True
        for i in rng.permutation(problem.n_items):
            lo, hi = int(ptr[i]), int(ptr[i + 1])
            fit = _fits_range(loads, lo, hi)
            cand = np.flatnonzero(fit)
            if cand.size == 0:
                ok = False
                break
            j = lo + int(cand[rng.integers(cand.size)])
            a[i] = j
            loads.add(j)
        if ok:
            return finish(problem, "random", a, started=t0, settings=settings,
                          stats={"attempts": _attempt + 1})
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            break
    return finish(problem, "random", None, started=t0, status="error", settings=settings,
                  message=f"no feasible random plan in {attempts} attempts")


def _fits_range(loads: Loads, lo: int, hi: int) -> np.ndarray:
    """Fit test for columns lo..hi-1 only."""
    use = loads.p.use
    a, b = use.indptr[lo], use.indptr[hi]
    ind = loads.indices[a:b]
    over = (loads.load[ind] + loads.data[a:b]) > loads.limit[ind]
    bad = np.bincount(loads.entry_col[a:b][over] - lo, minlength=hi - lo)
    return bad == 0
