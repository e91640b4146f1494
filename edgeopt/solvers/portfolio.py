"""``best``: the portfolio that measured best, a plan and a proven bound in one call.

1. **Start**: the regret greedy's plan; when greedy gets stuck (tight capacities), each
   item's cheapest column, an infeasible plan the search repairs.
2. **Strategic oscillation** (:mod:`edgeopt.solvers.oscillation`): tabu search with shift,
   swap and ejection-chain moves through feasible and infeasible plans.
3. **Bound**: column generation for the LP relaxation (:func:`column_generation`); its
   duals give every column a Lagrangian reduced cost rc_j, and any plan x costs at least
   bound + Σ_i rc(x_i).
4. **Reduced-cost fixing + restricted MILP**: only the columns with rc_j ≤ incumbent −
   bound can be in a better plan; HiGHS solves the MILP over them (MIP start: the
   incumbent). When no column was dropped for size, what it proves holds for the whole
   problem: bound = max(LP bound, min(restricted bound, incumbent)).
5. **Oscillation again** from the best plan with the time left.

Without a time limit the whole run takes at most ``budget_s`` seconds (default 60).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edgeopt.core.evaluate import evaluate, objectives_agree
from edgeopt.core.lagrange import lagrangian_bound
from edgeopt.core.problem import Problem
from edgeopt.core.result import Interrupted, Outcome, Status
from edgeopt.core.tolerances import IMPROVE_TOL, RC_FIX_RTOL
from edgeopt.errors import InputError
from edgeopt.solvers.budgets import (
    BEST_CG_SHARE,
    BEST_DW_SHARE,
    BEST_MIP_SHARE,
    BEST_OSCILLATION_SHARE,
    BEST_POOL_PLAN_SHARE,
    BEST_START_SHARE,
)
from edgeopt.solvers.cg import cheapest_columns, column_generation
from edgeopt.solvers.dw import pattern_bound, pool_plan, survivors
from edgeopt.solvers.highs import HighsOptions
from edgeopt.solvers.oscillation import OscillationArrays, oscillate
from edgeopt.solvers.registry import Deadline, get_solver, register
from edgeopt.solvers.submip import solve_columns

__all__ = ["best", "dw", "reduced_costs"]


def reduced_costs(problem: Problem, y: np.ndarray, nu: np.ndarray) -> tuple[float, np.ndarray]:
    """(Lagrangian bound, rc per column): Z(x) ≥ bound + Σ_i rc(x_i) for every feasible plan x."""
    lb, priced = lagrangian_bound(problem, y, nu)
    least = np.minimum.reduceat(priced, problem.item_ptr[:-1])
    return lb, priced - least[problem.col_item]


def _keep_by_rc(
    problem: Problem,
    rc: np.ndarray,
    gap: float,
    incumbent: np.ndarray | None,
    max_columns: int,
    extra: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """Columns that may be in a plan better than the incumbent (rc ≤ gap), and whether that set
    is complete; above ``max_columns`` each item keeps only its lowest-rc columns, plus
    ``extra`` (the columns column generation priced in)."""
    tol = RC_FIX_RTOL * max(1.0, abs(gap))
    keep = rc <= gap + tol
    exact = True
    if keep.sum() > max_columns:
        exact = False
        per_item = max(2, max_columns // max(problem.n_items, 1))
        order = np.lexsort((rc, problem.col_item))
        first = problem.item_ptr[problem.col_item[order]]
        rank = np.arange(order.size) - first
        keep = np.zeros(problem.n_columns, dtype=bool)
        keep[order[rank < per_item]] = True
        if extra is not None:
            keep[extra] = True
    if incumbent is not None:
        keep[incumbent] = True
    return np.flatnonzero(keep), exact


@register(
    "best",
    "portfolio: greedy start, strategic-oscillation tabu search, column-generation bound, "
    "reduced-cost restricted MILP; plan and proven bound",
)
def best(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    threads: int | None = None,
    budget_s: float = 60.0,
    max_mip_columns: int = 60_000,
    bound_by: str = "cg",
    dw_max_columns: int = 400_000,
) -> Outcome:
    """Run the portfolio within ``time_limit_s`` (else ``budget_s``).

    :param threads: HiGHS threads for the restricted MILP (None: HiGHS's default).
    :param budget_s: the time used when no time limit is given.
    :param max_mip_columns: the restricted MILP's size cap (above it the bound it proves is
        not used for the whole problem).
    :param bound_by: ``cg`` (LP bound by column generation, scales to millions of columns) or
        ``dw`` (pattern bound by bin with U by intervals, :mod:`edgeopt.solvers.dw`: far
        stronger on edgeopt's scenarios, for up to a few hundred thousand columns).
    :param dw_max_columns: above this many columns ``dw`` falls back to ``cg`` (and says so
        in the stats).
    """
    if bound_by not in ("cg", "dw"):
        raise InputError(f"best: bound_by must be 'cg' or 'dw', got {bound_by!r}", field="bound_by")
    if dw_max_columns < 1:
        raise InputError("best: dw_max_columns must be ≥ 1", field="dw_max_columns")
    if budget_s <= 0 or max_mip_columns < 1:
        raise InputError("best: budget_s must be > 0 and max_mip_columns ≥ 1", field="budget_s")
    if threads is not None and threads < 1:
        raise InputError(f"best: threads must be ≥ 1, got {threads!r}", field="threads")
    t0 = time.perf_counter()
    limited = time_limit_s is not None
    deadline = Deadline.after(time_limit_s if limited else budget_s)
    trace: list[list[float]] = []
    stats: dict[str, Any] = {}

    def now() -> float:
        return round(time.perf_counter() - t0, 4)

    def note(z: float) -> None:
        if not trace or z < trace[-1][1] - IMPROVE_TOL * max(1.0, abs(z)):
            trace.append([now(), z])

    inc: np.ndarray | None = None
    bound = -np.inf
    try:
        # 1. start
        g = get_solver("greedy")(problem, seed=seed, time_limit_s=deadline.share(BEST_START_SHARE))
        inc = g.assignment if g.has_plan else None
        inc_z = np.inf if inc is None else float(evaluate(problem, inc).objective)
        stats["start"] = "greedy" if inc is not None else "cheapest columns (greedy found no plan)"
        stats["start_objective"] = None if inc is None else inc_z
        if inc is not None:
            note(inc_z)
        arrays = OscillationArrays.of(problem)

        def run_so(share: float, stage: str, stall: int | None = None) -> None:
            nonlocal inc, inc_z
            start = inc if inc is not None else cheapest_columns(problem)
            sub = Deadline(time.perf_counter(), deadline.share(share))
            a, st = oscillate(problem, start, seed=seed, deadline=sub, arrays=arrays, stall=stall)
            offset = now() - st["so_s"]
            for t, z in st.pop("trace"):
                if z < inc_z - IMPROVE_TOL * max(1.0, abs(z)) and (not trace or z < trace[-1][1]):
                    trace.append([round(offset + t, 4), z])
            ev = evaluate(problem, a)
            if ev.feasible and ev.objective < inc_z:
                inc, inc_z = a, float(ev.objective)
            stats[stage] = {k: v for k, v in st.items()}

        # 2. strategic oscillation
        run_so(BEST_OSCILLATION_SHARE, "oscillation")
        # 3. bound by column generation (or by patterns)
        bound = -np.inf
        duals = None
        cg_columns = None
        dw_keep: np.ndarray | None = None
        if bound_by == "dw" and problem.n_columns > dw_max_columns:
            # pattern pricing does not converge at this size (c100-r1000: 3 master iterations
            # in 300 s, docs/bounds.md): the LP bound by column generation instead
            stats["dw"] = f"skipped: {problem.n_columns:,} columns > dw_max_columns"
            bound_by = "cg"
        if bound_by == "dw" and not deadline.passed():
            # the LP bound first: it floors every interval's (and scales to any size)
            cgr = column_generation(
                problem,
                start=inc,
                deadline=Deadline(time.perf_counter(), deadline.share(BEST_CG_SHARE / 2)),
            )
            stats["cg"] = {"bound": cgr.bound, "lp_value": cgr.lp_value}
            pb = pattern_bound(
                problem,
                deadline=Deadline(time.perf_counter(), deadline.share(BEST_DW_SHARE)),
                incumbent=inc_z,
                plan=inc,
                floor=cgr.bound,
            )
            bound = pb.bound
            stats["dw"] = pb.stats()
            # restricted-master heuristic: the best plan made of whole pool patterns
            if inc is not None and not objectives_agree(inc_z, bound):
                opts = HighsOptions(
                    time_limit_s=deadline.share(BEST_POOL_PLAN_SHARE), threads=threads, seed=seed
                )
                pa = pool_plan(problem, pb, options=opts, start=inc)
                if pa is not None:
                    ev = evaluate(problem, pa)
                    stats["dw"]["pool_plan"] = float(ev.objective) if ev.feasible else None
                    if ev.feasible and ev.objective < inc_z:
                        inc, inc_z = pa, float(ev.objective)
                        note(inc_z)
            if inc is not None and not objectives_agree(inc_z, bound):
                dw_keep = survivors(problem, pb, inc_z)
        elif not deadline.passed():
            cgr = column_generation(
                problem,
                start=inc,
                deadline=Deadline(time.perf_counter(), deadline.share(BEST_CG_SHARE)),
            )
            bound, duals, cg_columns = cgr.bound, cgr.duals, cgr.columns
            stats["cg"] = {
                "bound": cgr.bound,
                "lp_value": cgr.lp_value,
                "iterations": cgr.iterations,
            }
        # 4. reduced-cost fixing and the restricted MILP
        proven = inc is not None and np.isfinite(bound) and objectives_agree(inc_z, bound)
        todo = duals is not None or dw_keep is not None
        if todo and not proven and not deadline.passed():
            if dw_keep is not None:
                assert inc is not None
                dw_keep[inc] = True
                kept, exact = np.flatnonzero(dw_keep), int(dw_keep.sum()) <= max_mip_columns
                if not exact:  # too many: the incumbent's and the pattern pool's best guesses only
                    kept = np.unique(np.r_[inc, kept[: max_mip_columns - problem.n_items]])
            else:
                assert duals is not None
                lb, rc = reduced_costs(problem, *duals)
                gap = inc_z - lb if inc is not None else float(np.quantile(rc, 0.02))
                kept, exact = _keep_by_rc(problem, rc, gap, inc, max_mip_columns, cg_columns)
                exact = exact and inc is not None
            opts = HighsOptions(
                time_limit_s=deadline.share(BEST_MIP_SHARE), threads=threads, seed=seed
            )
            ub_before = inc_z
            res, sub_a = solve_columns(problem, kept, opts, start=inc)
            mip = {
                "columns": int(kept.size),
                "of": problem.n_columns,
                "complete": exact,
                "highs_status": res.termination,
                "bound_highs": res.bound,
                "solve_s": round(res.solve_s, 4),
            }
            if res.start_dropped:  # HiGHS misjudged the start: asked again without it
                mip["start_dropped"] = True
            if sub_a is not None and sub_a.size == problem.n_items:
                ev = evaluate(problem, sub_a)
                if ev.feasible and ev.objective < inc_z:
                    inc, inc_z = sub_a, float(ev.objective)
                    note(inc_z)
            if exact and res.bound is not None:
                # every plan better than ub_before uses kept columns only
                bound = max(bound, min(res.bound, ub_before))
            stats["rc_mip"] = mip
        proven = inc is not None and np.isfinite(bound) and objectives_agree(inc_z, bound)
        # 5. oscillation again with the time left
        if inc is not None and not proven and deadline.left() > 0.05:
            # with a time limit the last stage uses all of it (no stall stop)
            run_so(1.0, "oscillation_2", stall=0 if limited else None)
        stats["trace"] = trace
        stats["budget_s"] = None if limited else budget_s
        out_bound = float(bound) if np.isfinite(bound) else None
        if inc is None:
            return Outcome(
                None,
                "time_limit" if limited else "error",
                bound=out_bound,
                stats=stats,
                message="no feasible plan found",
            )
        status: Status | None = (
            "optimal" if proven else ("time_limit" if limited and deadline.passed() else None)
        )
        return Outcome(inc, status, bound=out_bound, stats=stats)

    except KeyboardInterrupt:  # Ctrl-C: the best plan so far goes up, refereed
        if inc is None:
            raise
        stats["interrupted"] = True
        raise Interrupted(
            Outcome(
                inc,
                "time_limit",
                bound=float(bound) if np.isfinite(bound) else None,
                stats=stats,
                message="interrupted",
            )
        ) from None


@register(
    "dw",
    "best with the pattern bound: Dantzig-Wolfe by bin, U by intervals, reduced-cost "
    "fixing from its multipliers, restricted MILP; plan and proven bound",
)
def dw(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    threads: int | None = None,
    budget_s: float = 60.0,
    max_mip_columns: int = 60_000,
    dw_max_columns: int = 400_000,
) -> Outcome:
    """:func:`best` with ``bound_by="dw"`` (see :mod:`edgeopt.solvers.dw`)."""
    return best(
        problem,
        seed=seed,
        time_limit_s=time_limit_s,
        threads=threads,
        budget_s=budget_s,
        max_mip_columns=max_mip_columns,
        bound_by="dw",
        dw_max_columns=dw_max_columns,
    )
