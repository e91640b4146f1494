"""Constructive heuristics over the plan state: regret greedy and seeded random construction."""

from __future__ import annotations

import numpy as np

from edgeopt.core.evaluate import evaluate
from edgeopt.core.plan import PlanState
from edgeopt.core.problem import Problem
from edgeopt.core.result import Outcome
from edgeopt.core.tolerances import IMPROVE_TOL, TINY
from edgeopt.solvers.registry import Deadline, register

__all__ = ["greedy", "random_construction", "regret_pass"]


def regret_pass(
    problem: Problem, penalty: float = 0.0, deadline: Deadline | None = None
) -> np.ndarray | None:
    """One regret-greedy pass: a complete assignment, or None when stuck or out of time.

    Each step takes the open item whose best and second-best fitting columns
    differ most in desirability (ΔZ, plus ``penalty``·max|c|·the column's summed
    capacity shares) — an item with a single fitting column first — and gives it
    its best column; ties go to the lower index.
    """
    bias = None
    if penalty:
        share = np.asarray(problem.use.T @ (1.0 / problem.capacity)).ravel()
        scale = max(float(np.abs(problem.col_cost).max(initial=0.0)), TINY)
        bias = penalty * scale * share
    st = PlanState(problem, track=True, bias=bias)
    for _ in range(problem.n_items):
        if (st.open & ~np.isfinite(st.best)).any():
            return None
        if deadline is not None and deadline.passed():
            return None
        i = int(np.argmax(st.regret()))
        st.add(int(st.best_col[i]))
    return st.assignment


@register(
    "greedy",
    "regret greedy: assigns the item with the largest regret to its cheapest fitting column",
)
def greedy(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    penalties: tuple[float, ...] = (0.0, 0.01, 0.1),
    fallback_penalties: tuple[float, ...] = (1.0, 10.0, 100.0),
    one_pass_above: int = 500_000,
) -> Outcome:
    """Regret greedy (Martello–Toth style) over a few desirability weightings; keeps the best.

    Desirability of a column: its cost plus the increase of the bottleneck term
    w_U·U it would cause, plus ``penalty``·max|c|·(its summed capacity shares).
    When every pass gets stuck (tight capacities, e.g. OR-Library types C and
    D), passes with heavier ``fallback_penalties`` favour light columns to find
    a feasible plan first. Deterministic (``seed`` unused); stops starting new
    passes when ``time_limit_s`` has passed and returns the best plan so far.
    Problems with more than ``one_pass_above`` columns get only the first weighting (a pass
    there takes about a second; the search that follows does better with the time).
    """
    deadline = Deadline.after(time_limit_s)
    if problem.n_columns > one_pass_above:
        penalties = penalties[:1]
    best: np.ndarray | None = None
    best_z = np.inf
    passes, cut = 0, False
    for group in (penalties, fallback_penalties):
        if best is not None:
            break
        for pen in group:
            if deadline.passed():
                cut = True
                break
            a = regret_pass(problem, pen, deadline)
            passes += 1
            if a is None:
                cut = cut or deadline.passed()
                continue
            z = evaluate(problem, a).objective
            if z < best_z - IMPROVE_TOL:  # absolute here
                best, best_z = a, z
    stats = {"passes": passes}
    if best is None:
        if cut:
            return Outcome(None, "time_limit", stats=stats, message="no plan within the time limit")
        return Outcome(
            None,
            "error",
            stats=stats,
            message="greedy found no feasible plan (every pass got stuck)",
        )
    return Outcome(best, "time_limit" if cut else None, stats=stats)


@register("random", "seeded random feasible construction (uniform over fitting columns)")
def random_construction(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    attempts: int = 20,
) -> Outcome:
    """Random item order; each item takes a uniformly random fitting column.

    Restarts with a new order when an item has no fitting column, up to
    ``attempts`` times. Same seed, same plan.
    """
    deadline = Deadline.after(time_limit_s)
    rng = np.random.default_rng(seed)
    ptr = problem.item_ptr
    for attempt in range(1, attempts + 1):
        st = PlanState(problem)
        for i in rng.permutation(problem.n_items):
            lo, hi = int(ptr[i]), int(ptr[i + 1])
            cand = np.flatnonzero(st.fits_range(lo, hi))
            if cand.size == 0:
                break
            st.add(lo + int(cand[rng.integers(cand.size)]))
        else:
            return Outcome(st.assignment, stats={"attempts": attempt})
        if deadline.passed():
            return Outcome(None, "time_limit", stats={"attempts": attempt})
    return Outcome(None, "error", message=f"no feasible random plan in {attempts} attempts")
