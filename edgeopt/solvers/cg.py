"""Column generation for the LP relaxation of docs/model.md §5, then price-and-branch.

The restricted master (RMP) holds a few columns per item (the start plan's, the
cheapest ones, an artificial one so it is always feasible) and is solved by
highspy directly; each iteration prices every column of the problem at once
from the RMP's duals (one sparse product), adds each item's most negative
reduced-cost columns, and re-solves from the previous basis.

At every iteration the Lagrangian (Farley-type) bound

    LB = Σ_i min_{j∈i} (c_j + Σ_ℓ (y_ℓ + ν_ℓ)·a_jℓ) − Σ_ℓ y_ℓ·cap_ℓ

is valid for any capacity duals y ≥ 0 and balance duals ν ≥ 0 with Σν ≤ w_U
(each item takes exactly one column; U ≥ 0 costs w_U − Σν ≥ 0), so a stopped
run still reports a proven bound; at LP optimality it equals the LP value.

``cg`` then solves the MILP over the generated columns (price-and-branch, MIP
start from the start plan), improves the plan with exact LNS in the time left,
and claims ``optimal`` only when the plan meets the bound within 1e-6.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from edgeopt.core.evaluate import evaluate, objectives_agree
from edgeopt.core.lagrange import lagrangian_bound
from edgeopt.core.problem import Problem
from edgeopt.core.result import Interrupted, Outcome
from edgeopt.core.tolerances import HIGHS_DUAL_FEAS_TOL, PRICING_TOL
from edgeopt.solvers.budgets import (
    CG_LP_SHARE,
    CG_MIP_SHARE,
    CG_START_SHARE,
    MIN_HIGHS_TIME_S,
    UNTIMED_LNS_ROUNDS,
)
from edgeopt.solvers.highs import HighsOptions, configure, new_highs, run_interruptible
from edgeopt.solvers.lns import improve
from edgeopt.solvers.registry import Deadline, get_solver, register
from edgeopt.solvers.submip import solve_columns

__all__ = ["cg", "column_generation", "CGResult", "cheapest_columns"]


class CGResult:
    """Outcome of :func:`column_generation`: the bound, the LP value when proven, columns used."""

    def __init__(
        self,
        bound: float,
        lp_value: float | None,
        columns: np.ndarray,
        iterations: int,
        history: list[tuple[float, float]],
        duals: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.bound = bound
        #: capacity and balance duals (y, ν) per resource of the best Lagrangian bound: with them
        #: Z(x) ≥ bound + Σ_i (priced cost of x_i − item i's least priced cost), so columns
        #: whose reduced cost exceeds (incumbent − bound) are in no better plan
        self.duals = duals
        self.lp_value = lp_value
        self.columns = columns
        self.iterations = iterations
        #: (RMP value, Lagrangian bound) per iteration
        self.history = history


def _rows(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Capacity rows that some column uses, and the balanced resources."""
    used = np.flatnonzero(np.diff(problem.use_csr.indptr))
    return used, np.flatnonzero(problem.balanced)


def cheapest_columns(problem: Problem) -> np.ndarray:
    """Each item's cheapest column (ties: the first): a complete, maybe infeasible, plan."""
    least = np.minimum.reduceat(problem.col_cost, problem.item_ptr[:-1])
    hit = np.flatnonzero(problem.col_cost == least[problem.col_item])
    return hit[np.r_[True, np.diff(problem.col_item[hit]) > 0]]


def column_generation(
    problem: Problem,
    *,
    start: np.ndarray | None,
    deadline: Deadline,
    per_item: int = 2,
    tol: float = PRICING_TOL,
    log: bool = False,
) -> CGResult:
    """Column generation for the LP relaxation until no column prices out or time runs out."""
    import highspy

    p = problem
    n_items, n_res = p.n_items, p.n_resources
    cap_rows, bal_rows = _rows(p)
    # Rows: items (= 1), capacity of used resources (≤ cap), balance (a·x − U ≤ 0).
    row_of_cap = np.full(n_res, -1, dtype=np.int64)
    row_of_cap[cap_rows] = n_items + np.arange(cap_rows.size)
    row_of_bal = np.full(n_res, -1, dtype=np.int64)
    row_of_bal[bal_rows] = n_items + cap_rows.size + np.arange(bal_rows.size)
    n_rows = n_items + cap_rows.size + bal_rows.size
    w = float(p.balance_weight) if bal_rows.size else 0.0
    # more than any plan costs: U is at most the largest *balanced* capacity (a large link
    # capacity here once made the artificial cost 3e7 and HiGHS's dual simplex fail)
    big = 10.0 * (
        float(np.abs(p.col_cost).max(initial=1.0)) * n_items
        + w * float(p.capacity[bal_rows].max(initial=1.0))
        + 1.0
    )

    h = new_highs()
    configure(h, HighsOptions(log=log))
    h.setOptionValue("dual_feasibility_tolerance", HIGHS_DUAL_FEAS_TOL)  # duals feed the bound
    inf = highspy.kHighsInf
    lower = np.r_[np.ones(n_items), np.full(cap_rows.size + bal_rows.size, -inf)]
    upper = np.r_[np.ones(n_items), p.capacity[cap_rows], np.zeros(bal_rows.size)]
    h.addRows(
        n_rows,
        lower,
        upper,
        0,
        np.zeros(0, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
    )
    # U, then one artificial column per item (cost big, no use) so the RMP is always feasible.
    if bal_rows.size:
        idx = row_of_bal[bal_rows].astype(np.int32)
        h.addCols(
            1,
            np.array([w]),
            np.array([0.0]),
            np.array([inf]),
            idx.size,
            np.array([0], dtype=np.int32),
            idx,
            -np.ones(idx.size),
        )
    art = np.arange(n_items, dtype=np.int32)
    h.addCols(
        n_items,
        np.full(n_items, big),
        np.zeros(n_items),
        np.ones(n_items),
        n_items,
        np.arange(n_items, dtype=np.int32),
        art,
        np.ones(n_items),
    )
    in_rmp = np.zeros(p.n_columns, dtype=bool)
    rmp_cols: list[np.ndarray] = []
    use = sp.csc_array(p.use)
    # Resource ℓ → its capacity row and its balance row, as (n_rows × n_res) selections.
    to_rows = sp.csr_array(
        (
            np.ones(cap_rows.size + bal_rows.size),
            (np.r_[row_of_cap[cap_rows], row_of_bal[bal_rows]], np.r_[cap_rows, bal_rows]),
        ),
        shape=(n_rows, n_res),
    )

    def add(cols: np.ndarray) -> None:
        cols = np.unique(cols[~in_rmp[cols]])
        if cols.size == 0:
            return
        in_rmp[cols] = True
        rmp_cols.append(cols)
        k = cols.size
        once = sp.csc_array((np.ones(k), (p.col_item[cols], np.arange(k))), shape=(n_rows, k))
        block = sp.csc_array(once + to_rows @ use[:, cols])
        block.sort_indices()
        h.addCols(
            k,
            p.col_cost[cols],
            np.zeros(k),
            np.full(k, inf),
            int(block.nnz),
            block.indptr[:-1].astype(np.int32),
            block.indices.astype(np.int32),
            block.data,
        )

    # Initial columns: the start plan and each item's cheapest column.
    first = cheapest_columns(p)
    add(first if start is None else np.r_[first, start])
    history: list[tuple[float, float]] = []
    best_lb = -np.inf
    best_duals: tuple[np.ndarray, np.ndarray] | None = None
    lp_value = None
    it = 0
    while True:
        it += 1
        left = deadline.left()
        if np.isfinite(left):
            h.setOptionValue("time_limit", max(left, MIN_HIGHS_TIME_S))
        run_interruptible(h)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        value = float(h.getInfo().objective_function_value)
        row_dual = np.asarray(h.getSolution().row_dual)
        y = np.zeros(n_res)
        nu = np.zeros(n_res)
        y[cap_rows] = np.maximum(-row_dual[row_of_cap[cap_rows]], 0.0)
        nu[bal_rows] = np.maximum(-row_dual[row_of_bal[bal_rows]], 0.0)
        if nu.sum() > w > 0:  # numerical safety: keep the bound valid
            nu *= w / nu.sum()
        lb, priced = lagrangian_bound(p, y, nu)
        if lb > best_lb:
            best_lb, best_duals = lb, (y, nu)
        history.append((value, lb))
        pi = row_dual[:n_items]
        rc = priced - pi[p.col_item]
        rc[in_rmp] = np.inf
        neg = rc < -tol * max(1.0, abs(value))
        if not neg.any():
            # Nothing prices out: the RMP optimum is the LP optimum (with the artificial
            # columns, a lower bound on it), so it is a bound too.
            lp_value = value
            best_lb = max(best_lb, value)
            break
        if deadline.passed():
            break
        # each item's `per_item` most negative columns
        cand = np.flatnonzero(neg)
        order = np.lexsort((rc[cand], p.col_item[cand]))
        cand = cand[order]
        first_of = np.r_[0, np.flatnonzero(np.diff(p.col_item[cand])) + 1]
        rank = np.arange(cand.size) - np.repeat(first_of, np.diff(np.r_[first_of, cand.size]))
        add(cand[rank < per_item])
    columns = np.concatenate(rmp_cols) if rmp_cols else np.zeros(0, dtype=np.int64)
    return CGResult(best_lb, lp_value, np.sort(columns), it, history, best_duals)


@register(
    "cg", "column generation LP bound, then price-and-branch MILP over its columns and exact LNS"
)
def cg(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    start: str = "greedy+ls",
    per_item: int = 2,
    bound_only: bool = False,
    threads: int | None = None,
) -> Outcome:
    """Proven bound by column generation; a plan by price-and-branch + LNS (unless ``bound_only``).

    :param start: solver whose plan seeds the master and starts the MIP.
    :param per_item: columns added per item and iteration.
    """

    deadline = Deadline.after(time_limit_s)
    base = get_solver(start)(problem, seed=seed, time_limit_s=deadline.share(CG_START_SHARE))
    a0 = base.assignment if base.has_plan else None
    try:
        return _cg_from(
            problem, a0, base.objective, deadline, time_limit_s, seed, threads, per_item, bound_only
        )
    except KeyboardInterrupt as exc:  # Ctrl-C: the start plan (or better, if LNS kept one)
        partial = exc.partial if isinstance(exc, Interrupted) else None
        plan = partial.assignment if isinstance(partial, Outcome) else a0
        if plan is None:
            raise
        raise Interrupted(
            Outcome(plan, "time_limit", stats={"interrupted": True}, message="interrupted")
        ) from None


def _cg_from(
    problem: Problem,
    a0: np.ndarray | None,
    start_objective: float | None,
    deadline: Deadline,
    time_limit_s: float | None,
    seed: int | None,
    threads: int | None,
    per_item: int,
    bound_only: bool,
) -> Outcome:

    res = column_generation(
        problem,
        start=a0,
        deadline=Deadline(
            deadline.start, None if time_limit_s is None else time_limit_s * CG_LP_SHARE
        ),
        per_item=per_item,
    )
    stats: dict[str, Any] = {
        "cg_iterations": res.iterations,
        "cg_columns": int(res.columns.size),
        "cg_lp_value": res.lp_value,
        "cg_bound": res.bound,
        "start_objective": start_objective,
    }
    if bound_only:
        return Outcome(None, "bound", bound=res.bound, stats=stats)
    best = a0
    best_z = np.inf if a0 is None else evaluate(problem, a0).objective
    keep = np.zeros(problem.n_columns, dtype=bool)
    keep[res.columns] = True
    if a0 is not None:
        keep[a0] = True
    cols = np.flatnonzero(keep)
    every_item = np.unique(problem.col_item[cols]).size == problem.n_items
    if every_item and not deadline.passed():
        opts = HighsOptions(time_limit_s=deadline.share(CG_MIP_SHARE), threads=threads, seed=seed)
        # the MILP over the generated columns, from arrays (no Pyomo build)
        mres, pb_a = solve_columns(problem, cols, opts, start=a0)
        stats["pb_status"] = mres.termination
        if pb_a is not None:
            z = evaluate(problem, pb_a).objective
            if z < best_z:
                best, best_z = pb_a, z
    if best is None:
        return Outcome(
            None,
            "time_limit" if deadline.passed() else "error",
            bound=res.bound,
            stats=stats,
            message="no plan: the start solver and the restricted MIP found none",
        )
    if not objectives_agree(best_z, res.bound) and not deadline.passed():
        best, lstats = improve(
            problem,
            best,
            deadline=deadline,
            seed=seed,
            threads=threads,
            max_rounds=None if time_limit_s is not None else UNTIMED_LNS_ROUNDS,
        )
        stats.update(lstats)
    z = evaluate(problem, best).objective
    proven = objectives_agree(z, res.bound)
    return Outcome(
        best,
        "optimal" if proven else ("time_limit" if deadline.passed() else None),
        bound=res.bound,
        stats=stats,
    )
