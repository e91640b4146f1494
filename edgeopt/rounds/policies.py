"""Round-by-round policies (docs/model.md §9.4): each plans one round's problem, carried state
priced in, without knowing later rounds; every plan goes through the referee.
"""

from __future__ import annotations

import time

import numpy as np

from edgeopt.core.plan import PlanState
from edgeopt.core.result import Outcome, SolveResult
from edgeopt.errors import InputError
from edgeopt.rounds.carry import RoundProblem
from edgeopt.solvers.registry import Deadline, get_solver, referee

__all__ = ["POLICIES", "plan_round", "incremental_start"]

#: policy name → what it does (``edgeopt simulate --policy``)
POLICIES = {
    "resolve": "each round from scratch with the given solver (migration priced in)",
    "incremental": "keep every deployment that still fits, place the rest by regret greedy, "
    "repair with strategic oscillation",
    "learned": "the drl solver on the round's problem (carried state seen through the priced costs)",
}


def plan_round(
    policy: str,
    rp: RoundProblem,
    *,
    seed: int,
    time_limit_s: float | None,
    solver: str = "greedy+ls",
) -> SolveResult:
    """Plan round problem ``rp`` with ``policy``; the result is refereed on ``rp.problem``."""
    if policy == "resolve":
        return get_solver(solver)(rp.problem, seed=seed, time_limit_s=time_limit_s)
    if policy == "learned":
        return get_solver("drl")(rp.problem, seed=seed, time_limit_s=time_limit_s)
    if policy == "incremental":
        return _incremental(rp, seed=seed, time_limit_s=time_limit_s)
    raise InputError(f"unknown policy {policy!r} (one of {', '.join(POLICIES)})", field="policy")


def incremental_start(rp: RoundProblem) -> tuple[np.ndarray, int]:
    """A complete start: every kept request on its old column while it fits (item order), then
    the open ones (arrivals, and kept ones whose column is gone or no longer fits) by regret
    greedy over the plan state; an item nothing fits takes its cheapest column (the start is then
    infeasible and the repair must fix it). Returns (plan, how many items were stuck)."""
    p = rp.problem
    st = PlanState(p)
    for j in rp.keep[rp.keep >= 0].tolist():
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


def _incremental(rp: RoundProblem, *, seed: int, time_limit_s: float | None) -> SolveResult:
    from edgeopt.solvers.oscillation import oscillate

    started = time.perf_counter()
    deadline = Deadline.after(time_limit_s)
    p = rp.problem
    start, stuck = incremental_start(rp)
    plan, stats = oscillate(
        p, start, seed=seed, deadline=deadline, stall=max(2000, 10 * p.n_items)
    )
    stats.pop("trace", None)
    stats.update(stuck=stuck, kept_in_start=int((start == rp.keep).sum()))
    status = "time_limit" if stats["so_stopped_by"] == "time" else None
    settings = {"seed": seed, "time_limit_s": time_limit_s}
    return referee(
        p, "incremental", Outcome(plan, status, stats=stats), started=started, settings=settings
    )
