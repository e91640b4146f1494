"""Exact MILP (``milp``) and its LP relaxation bound (``lp``): the model of
:mod:`edgeopt.solvers.milp_model` solved by the driver of :mod:`edgeopt.solvers.highs`.

``milp`` claims ``optimal`` when HiGHS proves it; the registry keeps the claim
only when HiGHS's bound meets the refereed objective within 1e-6, so a user's
looser ``mip_gap`` yields ``feasible`` with its bound. ``time_limit`` when the
limit stops the search (with the incumbent, if any); ``infeasible`` when HiGHS
proves it.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

import numpy as np

from edgeopt.core.evaluate import evaluate, objectives_agree
from edgeopt.core.problem import Problem
from edgeopt.core.result import Interrupted, Outcome, Status
from edgeopt.errors import InputError, SolverError
from edgeopt.solvers.budgets import (
    MILP_FALLBACK_MIN_S,
    MILP_FALLBACK_SHARE,
    MILP_START_MAX_S,
    MILP_START_SHARE,
    MIN_HIGHS_TIME_S,
)
from edgeopt.solvers.highs import DEFAULT_MIP_GAP, HighsOptions, MilpResults, solve_arrays
from edgeopt.solvers.milp_model import CompiledModel, build_model, compile_model
from edgeopt.solvers.reduce import Reduction, reduce_problem
from edgeopt.solvers.registry import Deadline, get_solver, register
from edgeopt.solvers.symmetry import interchangeable_bins, load_order_pairs, relabel_to_order

__all__ = ["solve", "solve_lp", "solve_model", "DEFAULT_MIP_GAP", "DEFAULT_WARM_START"]

#: The solver whose plan starts the search unless ``warm_start`` says otherwise.
DEFAULT_WARM_START = "greedy+ls"
#: Seconds to build and load the MILP per column of the reduced problem (2.5 s for c50-r400's
#: 173 000 on a loaded 2-core machine): with less time left, the MILP is not attempted.
_BUILD_S_PER_COLUMN = 1.5e-5


def _build(
    problem: Problem,
    fixed_load: np.ndarray | None = None,
    load_order: list[tuple[int, int]] | None = None,
) -> tuple[CompiledModel, float]:
    """Build and compile, with the garbage collector paused (Pyomo makes many small objects)."""
    t0 = time.perf_counter()
    enabled = gc.isenabled()
    gc.disable()
    # Pyomo logs an exception raised inside a rule before re-raising it (a Ctrl-C during the
    # build printed "ERROR: Constructing component ..."): the exception alone reports it
    pyomo_log = logging.getLogger("pyomo.core")
    level = pyomo_log.level
    pyomo_log.setLevel(logging.CRITICAL)
    try:
        cm = compile_model(build_model(problem, fixed_load, load_order))
    finally:
        pyomo_log.setLevel(level)
        if enabled:
            gc.enable()
    return cm, time.perf_counter() - t0


def solve_model(
    problem: Problem,
    options: HighsOptions,
    *,
    relax: bool = False,
    start: np.ndarray | None = None,
    fixed_load: np.ndarray | None = None,
    load_order: list[tuple[int, int]] | None = None,
) -> tuple[MilpResults, np.ndarray | None, dict[str, Any]]:
    """Solve ``problem``'s MILP (or LP): (results, assignment or None, model sizes and build time).

    ``start`` is an assignment passed as MIP start (it must meet ``load_order``).
    """
    cm, build_s = _build(problem, fixed_load, load_order)
    col_value = None
    if start is not None:
        col_value = np.zeros(cm.n_vars)
        col_value[cm.x_pos[start]] = 1.0
        if cm.u_pos >= 0:
            ev = evaluate(problem, start)
            col_value[cm.u_pos] = ev.max_balanced
            if fixed_load is not None:
                col_value[cm.u_pos] = max(
                    ev.max_balanced, float(np.max((ev.loads + fixed_load)[problem.balanced]))
                )
    left = (
        None
        if options.time_limit_s is None
        else max(options.time_limit_s - build_s, MIN_HIGHS_TIME_S)
    )
    info = {
        "build_s": round(build_s, 6),
        "n_vars": cm.n_vars,
        "n_cons": cm.n_cons,
        "n_nonzeros": int(cm.a.nnz),
    }
    try:
        res = solve_arrays(
            cost=cm.cost,
            a=cm.a,
            row_lower=cm.row_lower,
            row_upper=cm.row_upper,
            col_lower=cm.col_lower,
            col_upper=cm.col_upper,
            integer=None if relax else cm.integer,
            options=HighsOptions(**{**options.__dict__, "time_limit_s": left}),
            offset=cm.offset,
            start=col_value,
        )
    except Interrupted as exc:  # Ctrl-C: the incumbent so far, decoded, goes up with it
        if isinstance(exc.partial, MilpResults):
            x = exc.partial.x
            plan = None if x is None or relax else _assignment_from_x(problem, x[cm.x_pos])
            exc.partial = (exc.partial, plan, info)
        raise
    assignment = None
    if res.x is not None and not relax:
        assignment = _assignment_from_x(problem, res.x[cm.x_pos])
    return res, assignment, info


def _assignment_from_x(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Column index per item from the model's x values."""
    chosen = np.flatnonzero(x > 0.5)
    counts = np.bincount(problem.col_item[chosen], minlength=problem.n_items)
    if not (counts == 1).all():
        bad = np.flatnonzero(counts != 1)[:3]
        raise SolverError(
            "HiGHS solution does not pick exactly one column for item(s) "
            + ", ".join(problem.item_ids[i] for i in bad)
        )
    a = np.empty(problem.n_items, dtype=np.int64)
    a[problem.col_item[chosen]] = chosen
    return a


def _fallback_s(deadline: Deadline) -> float | None:
    """Time for a greedy fallback plan: a tenth of what is left, at least 0.5 s (None: no limit)."""
    share = deadline.share(MILP_FALLBACK_SHARE)
    return None if share is None else max(share, MILP_FALLBACK_MIN_S)


def _prepare(problem: Problem, reduce: bool) -> tuple[Reduction, float]:
    t0 = time.perf_counter()
    if reduce:
        red = reduce_problem(problem)
    else:
        idx = np.arange(problem.n_columns, dtype=np.int64)
        red = Reduction(problem=problem, kept=idx, to_reduced=idx)
    return red, time.perf_counter() - t0


def _start(
    problem: Problem, warm_start: Any, seed: int | None, deadline: Deadline
) -> tuple[np.ndarray | None, str]:
    """The warm-start assignment and a note of where it came from (an infeasible one is dropped)."""
    if warm_start is None or (isinstance(warm_start, str) and warm_start in ("", "none")):
        return None, "none"
    if isinstance(warm_start, str):
        res = get_solver(warm_start)(
            problem, seed=seed, time_limit_s=deadline.share(MILP_START_SHARE, MILP_START_MAX_S)
        )
        a, source = res.assignment, warm_start
    else:
        a, source = np.asarray(warm_start, dtype=np.int64).reshape(-1), "assignment"
        if a.shape[0] != problem.n_items:
            raise InputError(
                f"warm start has {a.shape[0]} entries, problem has {problem.n_items} items",
                field="warm_start",
            )
    if a is None:
        return None, f"{source}: no plan"
    ev = evaluate(problem, a)
    if not ev.feasible:
        return None, f"{source}: infeasible, ignored ({'; '.join(ev.violations[:2])})"
    return a, source


@register("milp", "exact MILP: Pyomo model of docs/model.md §5 solved by HiGHS branch and bound")
def solve(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    mip_gap: float = DEFAULT_MIP_GAP,
    threads: int | None = None,
    warm_start: str | np.ndarray | None = DEFAULT_WARM_START,
    reduce: bool = True,
    symmetry: bool = False,
    log: bool = False,
) -> Outcome:
    """Solve the core problem exactly (to ``mip_gap``) with HiGHS.

    :param seed: HiGHS ``random_seed`` (and the warm-start solver's seed).
    :param time_limit_s: wall-clock limit for the whole call (warm start, build and search).
    :param mip_gap: relative gap at which HiGHS may stop (default 1e-6); ``optimal`` still
        needs the bound to meet the objective within 1e-6.
    :param threads: HiGHS threads (None = HiGHS default).
    :param warm_start: a registered solver name (default ``greedy+ls``), ``"none"``, or an
        assignment (column index per item); a feasible start is HiGHS's MIP start.
    :param reduce: drop dominated columns first (never changes the optimum).
    :param symmetry: order the loads of interchangeable bins (never changes the optimum; off by
        default: on hub scenarios HiGHS's own symmetry handling proved faster, see
        reports/symmetry).
    :param log: print HiGHS's log.
    """
    if not (0.0 <= mip_gap < 1.0):
        raise InputError(f"milp: mip_gap must be in [0, 1), got {mip_gap!r}", field="mip_gap")
    if threads is not None and threads < 1:
        raise InputError(f"milp: threads must be ≥ 1, got {threads!r}", field="threads")
    deadline = Deadline.after(time_limit_s)
    red, reduce_s = _prepare(problem, reduce)
    t0 = time.perf_counter()
    start, note = _start(problem, warm_start, seed, deadline)
    start_s = time.perf_counter() - t0
    if start is None and isinstance(warm_start, str) and warm_start not in ("", "none", "greedy"):
        # the warm start's share was too short for a plan (greedy+ls on c50-r400 in 0.1 s):
        # greedy alone plans in a fraction of a second, and HiGHS may not find one in time
        plan = get_solver("greedy")(problem, seed=seed, time_limit_s=_fallback_s(deadline))
        if plan.has_plan:
            start, note = plan.assignment, f"{note}; greedy instead"
    left, build_est = deadline.left(), _BUILD_S_PER_COLUMN * red.problem.n_columns
    if left < build_est:  # the model would not be built in time: a heuristic plan stands
        if start is None:
            plan = get_solver("greedy")(problem, seed=seed, time_limit_s=_fallback_s(deadline))
            start, note = plan.assignment, f"{note}; greedy fallback"
        return Outcome(
            start,
            "time_limit",
            stats={
                "reduce_s": round(reduce_s, 6),
                "warm_start": note,
                "build_s_estimate": build_est,
            },
            message=f"time limit too short to build the MILP (about {build_est:.1f} s): "
            "the heuristic plan, no bound",
        )
    classes = interchangeable_bins(red.problem) if symmetry else []
    order = load_order_pairs(red.problem, classes)
    reduced_start = None if start is None else red.to_reduced[start]
    if reduced_start is not None and classes:
        reduced_start = relabel_to_order(red.problem, reduced_start, classes)
    opts = HighsOptions(
        time_limit_s=deadline.share(1.0), mip_gap=mip_gap, threads=threads, seed=seed, log=log
    )
    interrupted = None
    try:
        res, reduced_a, model_info = solve_model(
            red.problem, opts, start=reduced_start, load_order=order
        )
    except Interrupted as exc:  # Ctrl-C: finish the outcome of the incumbent, then pass it up
        if not isinstance(exc.partial, tuple):
            raise
        res, reduced_a, model_info = exc.partial
        interrupted = exc
    except KeyboardInterrupt:  # Ctrl-C while the model was built: the warm start's plan stands
        if start is None:
            raise
        raise Interrupted(
            Outcome(
                start,
                "time_limit",
                stats={"warm_start": note, "interrupted": True},
                message="interrupted while building the MILP: the warm start's plan",
            )
        ) from None
    stats = {
        **res.stats(),
        **model_info,
        "reduce_s": round(reduce_s, 6),
        "warm_start_s": round(start_s, 6),
        "columns_removed": red.removed,
        "mip_gap_tolerance": mip_gap,
        "warm_start": note,
        "warm_start_objective": None if start is None else evaluate(problem, start).objective,
        "symmetric_classes": [[red.problem.bin_ids[b] for b in c] for c in classes],
    }
    message = f"HiGHS: {res.termination}"
    if res.infeasible:
        return Outcome(None, "infeasible", stats=stats, message=message)
    a = None if reduced_a is None else red.kept[reduced_a]
    status: Status | None = (
        "optimal" if res.proven_optimal else ("time_limit" if res.time_limit else None)
    )
    if a is None and status != "time_limit":
        status = "error"
    bound, objective = res.bound, res.objective
    if a is not None and objective is not None:
        z = evaluate(problem, a).objective
        if not objectives_agree(objective, z):
            # HiGHS's value for its own incumbent is off (the known cause, a MIP start HiGHS
            # mis-carries through presolve, is handled in highs.solve_arrays; this stays as the
            # net): the plan stands on the referee's value, nothing HiGHS proved is claimed.
            message += (
                f"; HiGHS reported {objective:.9g} for a plan worth {z:.9g}: its bound is not used"
            )
            status = "time_limit" if res.time_limit else None
            bound = objective = None
    if interrupted is not None:
        stats["interrupted"] = True
        interrupted.partial = Outcome(
            a, "time_limit", bound=bound, objective=objective, stats=stats, message="interrupted"
        )
        raise interrupted
    return Outcome(a, status, bound=bound, objective=objective, stats=stats, message=message)


@register("lp", "LP relaxation bound of the MILP (HiGHS simplex); never a plan")
def solve_lp(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    threads: int | None = None,
    reduce: bool = True,
    log: bool = False,
) -> Outcome:
    """The LP relaxation value as a lower bound (status ``bound``, no plan)."""
    red, reduce_s = _prepare(problem, reduce)
    opts = HighsOptions(time_limit_s=time_limit_s, threads=threads, seed=seed, log=log)
    res, _, model_info = solve_model(red.problem, opts, relax=True)
    stats = {
        **res.stats(),
        **model_info,
        "reduce_s": round(reduce_s, 6),
        "columns_removed": red.removed,
    }
    message = f"HiGHS: {res.termination}"
    if res.infeasible:
        return Outcome(None, "infeasible", stats=stats, message=message)
    if res.bound is not None:
        return Outcome(None, "bound", bound=res.bound, stats=stats, message=message)
    return Outcome(None, "time_limit" if res.time_limit else "error", stats=stats, message=message)
