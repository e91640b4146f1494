"""Exact large-neighbourhood search: free a few items, re-solve them with the MILP
(the rest fixed as constant loads), keep what improves, until the time runs out.

Neighbourhoods, taken in turn:

- ``bottleneck``: the items on the most loaded balanced resource's bin, with the
  items of the least loaded bins (so there is room to move to);
- ``costly``: the items whose columns cost most (cloud fallbacks, accuracy given up);
- ``pair``: the items on two random bins.

``lns`` starts from a registered solver's plan (``start``, default ``greedy``);
``X+lns`` runs solver X, then LNS on its plan with the time left. In ``drl+lns``
the learned planner is also the repair step: each neighbourhood is first rebuilt
by decoding its freed items on the fixed loads (greedy plus sampled plans), and
the exact re-solve starts from the better of that and the current plan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeopt.core.evaluate import evaluate
from edgeopt.core.plan import PlanState
from edgeopt.core.problem import Problem
from edgeopt.core.result import Outcome, SolveResult
from edgeopt.core.tolerances import ASPIRATION_RTOL
from edgeopt.errors import InputError
from edgeopt.solvers.budgets import LNS_START_SHARE, UNTIMED_LNS_ROUNDS
from edgeopt.solvers.highs import HighsOptions
from edgeopt.solvers.registry import (
    Deadline,
    chain,
    get_solver,
    passed_on,
    register,
    register_composite,
    repair_of,
)
from edgeopt.solvers.submip import solve_columns

__all__ = ["lns", "improve", "NEIGHBOURHOODS"]

NEIGHBOURHOODS = ("bottleneck", "costly", "pair")


def restrict(problem: Problem, items: np.ndarray, keep: np.ndarray) -> tuple[Problem, np.ndarray]:
    """The problem over ``items`` only, with the columns where ``keep`` is true;
    returns it and the original index of each of its columns."""
    items = np.sort(items)
    cols = np.flatnonzero(keep & np.isin(problem.col_item, items))
    local = np.searchsorted(items, problem.col_item[cols])
    counts = np.bincount(local, minlength=items.size)
    ptr = np.zeros(items.size + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    sub = Problem(
        name=f"{problem.name}/lns",
        sense=problem.sense,
        item_ids=[problem.item_ids[i] for i in items],
        bin_ids=problem.bin_ids,
        option_ids=problem.option_ids,
        resource_ids=problem.resource_ids,
        item_ptr=ptr,
        col_item=local.astype(np.int64),
        col_bin=problem.col_bin[cols],
        col_option=problem.col_option[cols],
        col_cost=problem.col_cost[cols],
        col_terms=problem.col_terms[cols],
        term_names=problem.term_names,
        use=problem.use[:, cols],
        capacity=problem.capacity,
        balanced=problem.balanced,
        balance_weight=problem.balance_weight,
    )
    return sub, cols


def _neighbourhood(st: PlanState, kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    p, a = st.problem, st.assignment
    bins = p.col_bin[a]
    if kind == "costly":
        order = np.argsort(-p.col_cost[a], kind="stable")
        return order[:size]
    if kind == "bottleneck" and st.balanced_rows.size and st.single_balanced:
        row_of_item = st.balanced_row(a)
        load_of_item = np.where(row_of_item >= 0, st.load[np.maximum(row_of_item, 0)], -np.inf)
        top = int(np.argmax(load_of_item))
        chosen = list(np.flatnonzero(bins == bins[top]))
        # then the items of the least loaded bins, so the bottleneck's items have room to go
        bal_bins = np.unique(bins[row_of_item >= 0])
        loads = np.array([st.load[row_of_item[bins == b][0]] for b in bal_bins])
        for b in bal_bins[np.argsort(loads, kind="stable")]:
            if len(chosen) >= size:
                break
            if b != bins[top]:
                chosen += list(np.flatnonzero(bins == b))
        chosen_arr = np.array(chosen[:size], dtype=np.int64)
        if chosen_arr.size >= min(size, p.n_items) // 2:
            return chosen_arr
    used = np.unique(bins)
    pick = rng.choice(used, size=min(2, used.size), replace=False)
    chosen_arr = np.flatnonzero(np.isin(bins, pick))
    if chosen_arr.size > size:
        chosen_arr = rng.choice(chosen_arr, size=size, replace=False)
    if chosen_arr.size < size:  # top up with random items
        rest = np.setdiff1d(np.arange(p.n_items), chosen_arr)
        extra = rng.choice(rest, size=min(size - chosen_arr.size, rest.size), replace=False)
        chosen_arr = np.concatenate([chosen_arr, extra])
    return chosen_arr.astype(np.int64)


def _accept(st: PlanState, items: np.ndarray, new_cols: np.ndarray, z: float) -> float | None:
    """Give the sorted ``items`` the columns ``new_cols`` in ``st`` when the evaluator finds the
    resulting plan feasible and better than ``z``; returns its Z, or None (``st`` unchanged)."""
    new = st.assignment.copy()
    new[items] = new_cols
    ev = evaluate(st.problem, new)
    if not (ev.feasible and ev.objective < z - ASPIRATION_RTOL * max(1.0, abs(z))):
        return None
    for i in items:
        st.remove(int(i))
    for j in new_cols:
        st.add(int(j))
    return ev.objective


def improve(
    problem: Problem,
    assignment: np.ndarray,
    *,
    deadline: Deadline,
    seed: int | None = None,
    size: int = 40,
    sub_time_s: float = 10.0,
    threads: int | None = None,
    max_rounds: int | None = None,
    repair: Any = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """LNS from a feasible ``assignment`` until ``deadline`` (or ``max_rounds``).

    ``repair(sub, fixed_load, rng)``, when given, is a constructive repair (the learned
    planner in ``drl+lns``): its plan of the freed items (columns of ``sub``, or None) is
    tried first; the better of it and the current plan is the exact re-solve's start.
    """
    rng = np.random.default_rng(seed)
    st = PlanState(problem, assignment)
    z = st.z()
    stats: dict[str, Any] = {"lns_rounds": 0, "lns_improvements": 0, "lns_start_objective": z}
    if repair is not None:
        stats["lns_repair_improvements"] = 0
    kinds = list(NEIGHBOURHOODS)
    size = max(1, min(size, problem.n_items))
    rounds = 0
    while not deadline.passed() and (max_rounds is None or rounds < max_rounds):
        kind = kinds[rounds % len(kinds)]
        rounds += 1
        items = _neighbourhood(st, kind, size, rng)
        fixed = st.load.copy()
        for i in items:
            r, v = st.column_use(int(st.assignment[i]))
            fixed[r] -= v
        np.maximum(fixed, 0.0, out=fixed)
        mask = np.isin(problem.col_item, items)
        cand = np.flatnonzero(mask)
        keep = np.zeros(problem.n_columns, dtype=bool)
        keep[cand[st.fits(cand, fixed)]] = True
        keep[st.assignment[items]] = True  # the current plan stays a solution
        items = np.sort(items)
        cols = np.flatnonzero(keep)  # sorted, grouped by item
        if repair is not None:
            sub, sub_cols = restrict(problem, items, keep)
            guess = repair(sub, fixed, rng)
            better = None if guess is None else _accept(st, items, sub_cols[guess], z)
            if better is not None:
                z = better
                stats["lns_improvements"] += 1
                stats["lns_repair_improvements"] += 1
            if deadline.passed():
                break
        opts = HighsOptions(
            time_limit_s=min(sub_time_s, deadline.left()), threads=threads, seed=seed, guarded=True
        )
        # the sub-MIP from arrays (no Pyomo build per neighbourhood); MIP start: the current plan
        res, new_cols = solve_columns(
            problem, cols, opts, start=st.assignment[items], fixed_load=fixed
        )
        if new_cols is None:
            continue
        better = _accept(st, items, new_cols, z)
        if better is not None:
            z = better
            stats["lns_improvements"] += 1
        if items.size == problem.n_items and res.proven_optimal:
            # every item was free: the re-solve was the whole MILP, and its bound is a proof
            stats["lns_bound"] = res.bound
            break
    stats["lns_rounds"] = rounds
    return st.assignment.copy(), stats


def _lns_outcome(
    problem: Problem, base: SolveResult, deadline: Deadline, seed: int | None, **kw: Any
) -> Outcome:
    if not base.has_plan or base.assignment is None:
        return passed_on(base, "improve")
    if base.status == "optimal":
        return Outcome(base.assignment, "optimal", bound=base.bound, stats=dict(base.stats))
    a, stats = improve(problem, base.assignment, deadline=deadline, seed=seed, **kw)
    if kw.get("repair") is not None:
        stats["lns_repair"] = "learned planner (best of its greedy and sampled decodings)"
    proof = stats.get("lns_bound")
    bound = (
        base.bound if proof is None else max(proof, base.bound if base.bound is not None else proof)
    )
    return Outcome(
        a,
        # one vocabulary with milp and cg: a run the time limit stopped says so
        "optimal" if proof is not None else ("time_limit" if deadline.passed() else None),
        bound=bound,
        stats={**base.stats, **stats, "base_objective": base.objective, "base_status": base.status},
    )


@register(
    "lns", "exact large-neighbourhood search (MILP re-solves of freed items) from a heuristic plan"
)
def lns(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    start: str = "greedy",
    size: int = 40,
    sub_time_s: float = 10.0,
    max_rounds: int | None = None,
    threads: int | None = None,
) -> Outcome:
    """LNS from solver ``start``'s plan; without ``time_limit_s`` it stops after ``max_rounds``
    (default UNTIMED_LNS_ROUNDS then).

    :param size: items freed per neighbourhood.
    :param sub_time_s: HiGHS time limit of one re-solve.
    """
    if size < 1 or sub_time_s <= 0:
        raise InputError("lns: size must be ≥ 1 and sub_time_s > 0", field="size")
    if time_limit_s is None and max_rounds is None:
        max_rounds = UNTIMED_LNS_ROUNDS
    deadline = Deadline.after(time_limit_s)
    base = get_solver(start)(problem, seed=seed, time_limit_s=deadline.share(LNS_START_SHARE))
    return _lns_outcome(
        problem,
        base,
        deadline,
        seed,
        size=size,
        sub_time_s=sub_time_s,
        max_rounds=max_rounds,
        threads=threads,
    )


def _lns_composite(base_name: str) -> tuple[Any, str]:
    def then(problem: Problem, base: SolveResult, seed: int | None, deadline: Deadline) -> Outcome:
        repair = None
        hook = repair_of(base_name)  # e.g. the learned constructor repairs each neighbourhood first
        if hook is not None:
            end = None if deadline.limit_s is None else deadline.start + deadline.limit_s
            repair = hook(base.settings, end)
        return _lns_outcome(
            problem,
            base,
            deadline,
            seed,
            max_rounds=None if deadline.limit_s is not None else UNTIMED_LNS_ROUNDS,
            repair=repair,
        )

    return chain(
        base_name,
        then,
        f"{base_name}, then exact large-neighbourhood search",
        base_share=LNS_START_SHARE,
    )


register_composite("+lns", _lns_composite)
