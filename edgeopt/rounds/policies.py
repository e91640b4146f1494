"""Round-by-round policies (docs/model.md §9.4): each plans one round's problem, carried state
priced in, without knowing later rounds; every plan goes through the referee.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from edgeopt.core.evaluate import evaluate
from edgeopt.core.plan import PlanState
from edgeopt.core.problem import Problem
from edgeopt.core.referee import referee
from edgeopt.core.result import Outcome, SolveResult, Status
from edgeopt.errors import InputError
from edgeopt.rounds.carry import MIGRATION_ROW, RoundProblem, with_cap
from edgeopt.solvers.registry import Deadline, get_solver

__all__ = ["POLICIES", "plan_round", "incremental_start", "restricted"]

#: policy name → what it does (``edgeopt simulate --policy``)
POLICIES = {
    "resolve": "each round from scratch with the given solver (migration priced in)",
    "incremental": "keep every deployment that still fits, place the rest by regret greedy, "
    "repair with strategic oscillation (moves priced; --moves B: at most B per round)",
    "learned": "the drl solver on the round's problem (carried state seen through the priced costs)",
}


def plan_round(
    policy: str,
    rp: RoundProblem,
    *,
    seed: int,
    time_limit_s: float | None,
    solver: str = "greedy+ls",
    moves: int | None = None,
) -> SolveResult:
    """Plan round problem ``rp`` with ``policy``; the result is refereed on ``rp.problem``.

    ``moves``: ``incremental``'s budget of voluntary migrations per round (None: only the file's
    cap); the other policies take the file's cap alone.
    """
    if policy == "resolve":
        return get_solver(solver)(rp.problem, seed=seed, time_limit_s=time_limit_s)
    if policy == "learned":
        return get_solver("drl")(rp.problem, seed=seed, time_limit_s=time_limit_s)
    if policy == "incremental":
        return _incremental(rp, seed=seed, time_limit_s=time_limit_s, moves=moves)
    raise InputError(f"unknown policy {policy!r} (one of {', '.join(POLICIES)})", field="policy")


def restricted(rp: RoundProblem, moves: int | None) -> tuple[Problem, np.ndarray]:
    """``rp.problem`` with at most ``moves`` voluntary migrations (a tighter cap than the file's,
    or the same problem), and the indices of its columns in ``rp.problem``."""
    p = rp.problem
    if moves is None or (rp.cap is not None and moves >= rp.cap):
        return p, np.arange(p.n_columns)
    if MIGRATION_ROW in p.resource_ids and moves > 0:
        cap = p.capacity.copy()
        cap[p.resource_ids.index(MIGRATION_ROW)] = float(moves)
        return dataclasses.replace(p, capacity=cap), np.arange(p.n_columns)
    return with_cap(p, rp.capped, moves)


def incremental_start(problem: Problem, keep: np.ndarray) -> tuple[np.ndarray, int]:
    """A complete start: every item with a keep column (``keep[i]`` ≥ 0, its deployment) takes it
    while it fits (item order), then the open ones (arrivals, and kept ones whose column is gone
    or no longer fits) by regret greedy over the plan state; an item nothing fits takes its
    cheapest column (the start is then infeasible and the repair must fix it). Returns (plan,
    how many items were stuck)."""
    p = problem
    st = PlanState(p)
    for j in keep[keep >= 0].tolist():
        if st.fits(np.array([j]))[0]:
            st.add(j)
    st = PlanState(p, st.assignment, track=True)
    stuck = 0
    while st.open.any():
        dead = np.flatnonzero(st.open & ~np.isfinite(st.best))
        if dead.size:
            i = int(dead[0])
            lo, hi = int(p.item_ptr[i]), int(p.item_ptr[i + 1])
            st.add(lo + int(np.argmin(p.col_cost[lo:hi])))
            stuck += 1
            continue
        st.add(int(st.best_col[int(np.argmax(st.regret()))]))
    return st.assignment.copy(), stuck


def _incremental(
    rp: RoundProblem, *, seed: int, time_limit_s: float | None, moves: int | None
) -> SolveResult:
    from edgeopt.solvers.oscillation import oscillate

    started = time.perf_counter()
    deadline = Deadline.after(time_limit_s)
    sub, cols = restricted(rp, moves)
    pos = np.full(rp.problem.n_columns, -1, dtype=np.int64)
    pos[cols] = np.arange(cols.size)
    keep = np.where(rp.keep >= 0, pos[np.maximum(rp.keep, 0)], -1)
    start, stuck = incremental_start(sub, keep)
    stall = max(1000, 4 * sub.n_items)
    plan, stats = oscillate(sub, start, seed=seed, deadline=deadline, stall=stall)
    plan = cols[plan]
    stats.update(stuck=stuck, kept_in_start=int(((start == keep) & (keep >= 0)).sum()))
    if not evaluate(rp.problem, plan).feasible and sub is not rp.problem:
        # the budget left no feasible plan the search could find: repair with every move allowed
        plan, more = oscillate(rp.problem, plan, seed=seed, deadline=deadline, stall=stall)
        stats["budget_lifted"] = True
        stats["so_steps"] += more["so_steps"]
    stats.pop("trace", None)
    status: Status | None = "time_limit" if deadline.passed() else None
    settings = {"seed": seed, "time_limit_s": time_limit_s, "moves": moves}
    return referee(
        rp.problem,
        "incremental",
        Outcome(plan, status, stats=stats),
        wall_s=time.perf_counter() - started,
        settings=settings,
    )
