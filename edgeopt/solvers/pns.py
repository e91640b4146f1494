"""Predict-and-search (Han et al. 2023) with the learned planner's probabilities.

``pns`` decodes the problem greedily with the actor (as ``drl`` with ``beam=1``),
recording for every item the softmax probability of each of its candidate columns at
the step it was decided (interchangeable candidates are merged into one choice by the
policy batch; every member of a class gets its representative's probability; a column
that did not fit then has probability 0). Then:

1. the fraction ``fix`` of the items whose chosen column was most probable keep it
   (their loads become the sub-problem's fixed loads);
2. every other item keeps a shortlist: its ``k`` most probable columns among those that
   fit on the fixed loads alone (ties, the zero-probability ones included, by cost),
   plus the greedy decoding's column, so the decoded plan stays a solution;
3. HiGHS solves that sub-MIP (:func:`~edgeopt.solvers.submip.solve_columns`) from the
   decoded plan as MIP start, with the time left (or ``sub_time_s``).

The better of the decoded plan and the sub-MIP's plan is returned. The sub-MIP's optimum
is not the problem's, so the status is ``feasible`` (or ``time_limit`` when the limit
stopped HiGHS), never ``optimal``. ``pns+lns`` (the registry's ``X+lns`` chain) spends
the other half of the limit in the exact large-neighbourhood search from that plan.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edgeopt.core.evaluate import evaluate
from edgeopt.core.plan import PlanState
from edgeopt.core.problem import Problem
from edgeopt.core.result import Outcome, Status
from edgeopt.core.tolerances import ASPIRATION_RTOL
from edgeopt.errors import InputError
from edgeopt.policy.checkpoint import load_policy
from edgeopt.policy.decode import Policy, choose
from edgeopt.policy.features import PolicyBatch
from edgeopt.solvers.budgets import MIN_HIGHS_TIME_S
from edgeopt.solvers.drl import _weights
from edgeopt.solvers.highs import HighsOptions
from edgeopt.solvers.registry import Deadline, get_solver, register
from edgeopt.solvers.submip import solve_columns

__all__ = ["pns", "decode_marginals", "shortlist"]

#: Defaults: the share of items fixed, and the columns kept per free item.
DEFAULT_FIX, DEFAULT_K = 0.8, 8


def decode_marginals(
    policy: Policy, problem: Problem, *, order: str = "regret"
) -> tuple[np.ndarray | None, np.ndarray]:
    """Greedy decoding of ``problem`` with ``policy``, recording probabilities.

    Returns the plan (one column per item; None when the decoding got stuck) and, per column
    of the problem, the softmax probability the actor gave it when its item was decided
    (float32; members of a merged class get their representative's probability; 0 for the
    columns that did not fit then, and for the items never decided)."""
    batch = PolicyBatch([problem], order=order, merge=True)
    prob = np.zeros(problem.n_columns, dtype=np.float32)
    while not batch.done.all():
        obs = batch.observe()
        logits = policy.logits(obs)
        choice = obs["choice"]
        cand, rep, mask = batch.cur_cand[0], obs["rep"][0], obs["mask"][0]
        lg = np.where(choice[0], logits[0].astype(np.float64), -np.inf)
        if np.isfinite(lg).any():
            e = np.exp(lg - lg.max())
            p = e / e.sum()
            ok = (cand >= 0) & mask & (rep >= 0)
            prob[cand[ok]] = p[rep[ok]]
        batch.step(choose(logits, choice))
    plan = batch.assignment(0) if batch.done[0] and not batch.stuck[0] else None
    return plan, prob


def shortlist(
    problem: Problem, items: np.ndarray, prob: np.ndarray, k: int, fits: np.ndarray
) -> np.ndarray:
    """Sorted global columns: for each of ``items`` its ``k`` most probable columns among those
    where ``fits`` (ties by cost, then index)."""
    lo, hi = problem.item_ptr[items], problem.item_ptr[items + 1]
    n = hi - lo
    owner = np.repeat(np.arange(items.size), n)
    cols = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
    ok = fits[cols]
    cols, owner = cols[ok], owner[ok]
    order = np.lexsort((cols, problem.col_cost[cols], -prob[cols], owner))
    cols, owner = cols[order], owner[order]
    first = np.searchsorted(owner, owner)  # owner is sorted: its first position per item
    rank = np.arange(cols.size) - first
    return np.sort(cols[rank < k])


@register(
    "pns",
    "predict-and-search: the learned planner's greedy decoding fixes its most confident items "
    "(fix=0.8), keeps each other item's k=8 most probable columns, HiGHS solves that sub-MIP",
    fingerprint=_weights,
)
def pns(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    fix: float = DEFAULT_FIX,
    k: int = DEFAULT_K,
    sub_time_s: float | None = None,
    threads: int | None = None,
    checkpoint: str | None = None,
    widen: bool = False,
) -> Outcome:
    """Predict-and-search from the actor's greedy decoding (module docstring).

    :param fix: share of the items (most confident first) that keep their decoded column.
    :param k: columns kept per other item (most probable first), besides the decoded one.
    :param sub_time_s: HiGHS's limit for each sub-MIP (None: all the time left).
    :param widen: when HiGHS proves a sub-MIP optimal with time left, solve another from its
        plan with twice the free items (the least confident next) and twice ``k``, until
        every item is free with every column or the time runs out.

    The decoding always finishes, whatever the limit (as ``drl``'s greedy decoding); when it
    gets stuck, the ``greedy`` heuristic's plan is the start, and the items the decoding
    never reached count as least confident.
    """
    if not 0.0 <= float(fix) <= 1.0:
        raise InputError("pns: fix must be within [0, 1]", field="fix")
    if int(k) < 1:
        raise InputError("pns: k must be ≥ 1", field="k")
    deadline = Deadline.after(time_limit_s)
    t0 = time.perf_counter()
    policy, order = load_policy(checkpoint)
    plan, prob = decode_marginals(policy, problem, order=order)
    stats: dict[str, Any] = {"decode_s": round(time.perf_counter() - t0, 4)}
    if plan is None:
        fallback = get_solver("greedy")(problem, seed=seed, time_limit_s=deadline.share(0.5))
        stats["repair"] = "greedy heuristic plan (the decoding got stuck)"
        if fallback.assignment is None:
            return Outcome(
                None,
                "time_limit" if deadline.passed() else "error",
                stats=stats,
                message=fallback.message or "no plan to start from",
            )
        plan = np.asarray(fallback.assignment, dtype=np.int64)
    st = PlanState(problem, plan)
    z0 = st.z()
    stats["decoded_objective"] = z0
    n = problem.n_items
    conf = prob[plan].astype(np.float64)
    ranked = np.argsort(-conf, kind="stable")
    n_fix = min(n, int(round(float(fix) * n)))
    free = np.sort(ranked[n_fix:])
    stats.update(fixed_items=n_fix, free_items=int(free.size))
    max_k = int(np.diff(problem.item_ptr).max(initial=1))
    if n_fix:
        stats["fixed_min_probability"] = float(conf[ranked[n_fix - 1]])
    if free.size == 0:
        return Outcome(plan, None, stats=stats)
    best, z_best = plan, z0
    status: Status | None = None
    n_free, kk, rounds = int(free.size), int(k), []
    while True:
        free = np.sort(ranked[n - n_free :])
        st = PlanState(problem, best)
        fixed = st.load.copy()
        for i in free:
            r, v = st.column_use(int(best[i]))
            fixed[r] -= v
        np.maximum(fixed, 0.0, out=fixed)
        fits = np.zeros(problem.n_columns, dtype=bool)
        lo, hi = problem.item_ptr[free], problem.item_ptr[free + 1]
        for a, b in zip(lo.tolist(), hi.tolist()):
            fits[a:b] = st.fits_range(a, b, fixed)
        keep = shortlist(problem, free, prob, kk, fits)
        cols = np.union1d(keep, best[free])  # the plan so far stays a solution
        left = deadline.left()
        limit = left if sub_time_s is None else min(float(sub_time_s), left)
        if limit < MIN_HIGHS_TIME_S:
            stats["stopped"] = "time limit (no time left for the sub-MIP)"
            status = "time_limit"
            break
        t1 = time.perf_counter()
        opts = HighsOptions(
            time_limit_s=None if limit == float("inf") else limit,
            threads=threads,
            seed=seed,
            guarded=True,
        )
        res, new_cols = solve_columns(problem, cols, opts, start=best[free], fixed_load=fixed)
        info: dict[str, Any] = {
            "free_items": int(free.size),
            "k": kk,
            "columns": int(cols.size),
            "s": round(time.perf_counter() - t1, 4),
            "termination": res.termination,
        }
        if new_cols is not None:
            cand = best.copy()
            cand[free] = new_cols
            ev = evaluate(problem, cand)
            if ev.feasible and ev.objective < z_best - ASPIRATION_RTOL * max(1.0, abs(z_best)):
                best, z_best = cand, ev.objective
                info["objective"] = ev.objective
        rounds.append(info)
        if not res.proven_optimal:
            if deadline.passed():
                status = "time_limit"
            break
        # widening: the sub-MIP is solved with time to spare, so free twice the items (the
        # least confident first) and keep twice the columns, from the plan so far
        if not widen or (n_free == n and kk >= max_k):
            break
        n_free, kk = min(n, 2 * n_free), min(max_k, 2 * kk)
    first = rounds[0] if rounds else {}
    stats.update(
        sub_columns=first.get("columns"),
        sub_s=first.get("s"),
        sub_termination=first.get("termination"),
        sub_rounds=rounds,
    )
    if z_best < z0:
        stats["sub_objective"] = z_best
    return Outcome(best, status, stats=stats)
