"""The one HiGHS driver: options, loading arrays, running, and typed results.

``milp``, ``lp``, LNS and the OR-Library benchmark's direct baseline all go
through :func:`solve_arrays`, so "the same options" is true by construction.
Tolerances are tighter than HiGHS's defaults: its 1e-6 integrality tolerance
lets the objective with a bottleneck U drift ~1e-6 from the evaluator's on the
rounded plan, outside the referee's 1e-6 relative agreement.

A MIP start is checked after the run: HiGHS (1.16) carries a start into its presolved model by
keeping the values of the columns presolve kept, and its dominated-column reduction (rule 5,
which ``presolve_rule_off`` cannot switch off) may fix to 0 a column the start uses. The carried
start then leaves that item unassigned, HiGHS takes its lower value ("MIP start solution is
feasible in the reduced space") as the incumbent's, prunes against it and stops "Optimal" with
objective and bound both there, while returning the start itself. HiGHS reports that value with
the start as its first improving solution, before the root LP: a callback compares it with
``cost·x + offset`` and stops the run there (the final objective is compared too, for a run
presolve finishes). :func:`solve_arrays` then keeps the start at its own value, with a bound no
higher, and runs HiGHS again without the start, its value the cutoff
(tests/test_highs_objective.py).
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from edgeopt.core.result import Interrupted
from edgeopt.core.tolerances import HIGHS_FEAS_TOL, HIGHS_MIP_GAP
from edgeopt.errors import SolverError
from edgeopt.solvers.budgets import MIN_HIGHS_TIME_S

__all__ = [
    "HighsOptions",
    "MilpResults",
    "configure",
    "new_highs",
    "solve_arrays",
    "has_dense_row",
    "has_binding_dense_row",
    "DEFAULT_MIP_GAP",
]

#: Relative gap under which HiGHS may stop (``tolerances.HIGHS_MIP_GAP``).
DEFAULT_MIP_GAP = HIGHS_MIP_GAP
#: HiGHS's objective and ``cost·x + offset`` of its solution differ by float rounding only
#: (1e-15 relative); a start mis-carried through presolve shows as 1e-5 and more.
OBJECTIVE_CHECK_RTOL = 1e-9
#: A re-run's cutoff sits this far (relative) above the start's value, so plans worth as much
#: as the start are still found.
CUTOFF_SLACK = 1e-9
_BANNER_SHOWN = False
_scheduler_threads: list[int | None] = [None]


@dataclass(frozen=True)
class HighsOptions:
    """Every option edgeopt sets on HiGHS."""

    time_limit_s: float | None = None
    mip_gap: float = DEFAULT_MIP_GAP
    threads: int | None = None
    seed: int | None = None
    log: bool = False
    feasibility_tolerance: float = HIGHS_FEAS_TOL
    #: LNS sub-problems (``guarded=True``) on models with a binding dense row (see
    #: :func:`has_binding_dense_row`) run with presolve and every primal heuristic but
    #: feasibility jump off as well: their first presolve also stalled there.
    guarded: bool = False
    #: HiGHS's ``objective_bound``: only plans worth less are sought (nodes whose LP value
    #: reaches it are pruned), as a start worth this would have it do
    objective_cutoff: float | None = None


@dataclass(frozen=True)
class MilpResults:
    """What one HiGHS run found, like Pyomo's contrib solver results.

    ``termination`` is HiGHS's model status text (``Optimal``, ``Time limit
    reached``, ``Infeasible``, ...); ``objective`` the incumbent's value (None
    without one); ``bound`` the proven dual bound (the LP value for a relaxation);
    ``x`` the incumbent's column values.
    """

    termination: str
    proven_optimal: bool
    infeasible: bool
    time_limit: bool
    objective: float | None
    bound: float | None
    gap: float | None
    nodes: int
    simplex_iterations: int
    load_s: float
    solve_s: float
    x: np.ndarray | None
    #: the model had a binding dense row: sub-MIP heuristics and restarts were off
    dense_row_guard: bool = False
    #: HiGHS's objective when it disagreed with ``cost·x + offset`` of its own solution (the
    #: MIP start mis-carried through presolve; ``objective`` is then the recomputed value)
    objective_reported: float | None = None
    #: HiGHS was run a second time without the MIP start (after such a disagreement)
    start_dropped: bool = False

    def stats(self) -> dict[str, Any]:
        """The JSON-ready part (no ``x``)."""
        return {
            "highs_status": self.termination,
            "objective_highs": self.objective,
            "bound_highs": self.bound,
            "mip_gap": self.gap,
            "nodes": self.nodes,
            "simplex_iterations": self.simplex_iterations,
            "load_s": round(self.load_s, 6),
            "solve_s": round(self.solve_s, 6),
            "dense_row_guard": self.dense_row_guard,
            **(
                {"objective_reported": self.objective_reported}
                if self.objective_reported is not None
                else {}
            ),
            **({"start_dropped": True} if self.start_dropped else {}),
        }


def new_highs() -> Any:
    """A ``highspy.Highs``; the first one's copyright banner (printed by the C++ library
    straight to file descriptor 1) is kept off stdout so command output stays clean."""
    global _BANNER_SHOWN
    import highspy

    if _BANNER_SHOWN:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        _BANNER_SHOWN = True
    return h


#: A row with more than this share of the columns (and at least DENSE_MIN of them) is "dense".
DENSE_SHARE, DENSE_MIN = 0.25, 2000


def configure(h: Any, o: HighsOptions, *, dense: bool = False) -> None:
    """Set every option of ``o`` on HiGHS instance ``h`` (all edgeopt HiGHS runs go through here).

    ``dense``: the model has a binding dense row (:func:`has_binding_dense_row`, which
    :func:`solve_arrays` works out from the matrix); only then are HiGHS's sub-MIP heuristics
    and restarts switched off. Every other MIP runs with HiGHS's own heuristic settings.
    """
    h.setOptionValue("output_flag", bool(o.log))
    if o.time_limit_s is not None:
        h.setOptionValue("time_limit", max(float(o.time_limit_s), MIN_HIGHS_TIME_S))
    if o.threads is not None:
        h.setOptionValue("threads", int(o.threads))
    if o.seed is not None:
        h.setOptionValue("random_seed", int(o.seed) % 2147483647)
    h.setOptionValue("mip_rel_gap", float(o.mip_gap))
    if o.objective_cutoff is not None:
        h.setOptionValue("objective_bound", float(o.objective_cutoff))
    h.setOptionValue("mip_feasibility_tolerance", o.feasibility_tolerance)
    h.setOptionValue("primal_feasibility_tolerance", o.feasibility_tolerance)
    if dense:
        # HiGHS runs its MIP presolve again inside sub-MIP heuristics (RENS, RINS, root reduced
        # cost; sub-MIPs run their own, nested) and at root restarts. On a hub scenario (one
        # link row with 87 % of the columns) a sub-MIP six levels deep (RINS > root reduced
        # cost > root reduced cost > RENS > RENS > RENS) sat in strengthenInequalities from
        # about 25 s until killed at twice the 30 s limit (reports/highs; seen before for
        # minutes and to 12 GB). Only models with such a row lose the sub-MIPs and restarts:
        # no HiGHS option turns strengthenInequalities off (presolve_rule_off has no bit for
        # it), and mip_root_presolve_only (sub-MIPs without presolve) searched ~100 nodes in
        # 30 s there against ~3,000 with the sub-MIPs off. Every other MIP keeps them: c25-r150
        # is proven in 84 s with them, not in 120 s without; OR-Library gapb-4 + gapc-4 take
        # 0.86x a direct HiGHS solve with them (no warm start), 6.5x without.
        for opt in (
            "mip_heuristic_run_rens",
            "mip_heuristic_run_rins",
            "mip_heuristic_run_root_reduced_cost",
        ):
            h.setOptionValue(opt, False)
        h.setOptionValue("mip_allow_restart", False)
        if o.guarded:
            h.setOptionValue("presolve", "off")
            h.setOptionValue("mip_heuristic_effort", 0.0)


def _dense_rows(a: sp.csc_array, n_rows: int) -> np.ndarray:
    """Indices of the rows with more than :data:`DENSE_SHARE` of the columns (and more than
    :data:`DENSE_MIN` nonzeros)."""
    if a.nnz == 0 or n_rows == 0:
        return np.zeros(0, dtype=np.int64)
    per_row = np.bincount(a.indices, minlength=n_rows)
    return np.flatnonzero(per_row > max(DENSE_MIN, DENSE_SHARE * a.shape[1]))


def has_dense_row(a: sp.spmatrix | sp.sparray, n_rows: int) -> bool:
    """Whether some row of ``a`` is used by more than :data:`DENSE_SHARE` of the columns (and
    at least :data:`DENSE_MIN`): the shape on which HiGHS's sub-MIP presolve stalled."""
    return bool(_dense_rows(sp.csc_array(a), n_rows).size)


def has_binding_dense_row(
    a: sp.spmatrix | sp.sparray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
) -> bool:
    """Whether some dense row (:func:`has_dense_row`) can bind: its activity over the column
    bounds can leave ``[row_lower, row_upper]``.

    Not what :func:`solve_arrays` decides on: a dense row that cannot bind stalled a
    restricted MILP too (reports/highs/README.md), so every dense row triggers the guard.

    A dense row that cannot bind is redundant; HiGHS's presolve drops it before any sub-MIP or
    restart sees it, so it needs no guard (c25-r150's gNB links hold up to 36 % of the columns
    but cannot pass 19 % of their capacity). Conservative: the activity bound ignores the
    assignment rows, so a hub link that no plan can fill still counts, as it does for HiGHS.
    """
    a = sp.csc_array(a)
    n_rows = int(np.asarray(row_lower).shape[0])
    rows = _dense_rows(a, n_rows)
    if rows.size == 0:
        return False
    # the dense rows' nonzeros, straight from the CSC arrays (no transposed copy of A)
    is_dense = np.zeros(n_rows, dtype=bool)
    is_dense[rows] = True
    at = np.flatnonzero(is_dense[a.indices])
    col = np.searchsorted(a.indptr, at, side="right") - 1
    row = a.indices[at]
    v = a.data[at]
    lo = np.asarray(col_lower, dtype=np.float64)[col]
    hi = np.asarray(col_upper, dtype=np.float64)[col]
    with np.errstate(invalid="ignore"):  # 0 * inf: an explicit zero, contributes 0 below
        top = np.where(v > 0, v * hi, v * lo)
        bottom = np.where(v > 0, v * lo, v * hi)
    top[v == 0] = 0.0
    bottom[v == 0] = 0.0
    max_activity = np.bincount(row, weights=top, minlength=n_rows)[rows]
    min_activity = np.bincount(row, weights=bottom, minlength=n_rows)[rows]
    lower = np.asarray(row_lower, dtype=np.float64)[rows]
    upper = np.asarray(row_upper, dtype=np.float64)[rows]
    return bool(np.any((max_activity > upper) | (min_activity < lower)))


def _run(h: Any, threads: int | None) -> float:
    """Run HiGHS; its thread pool is global, so restart it when the thread count changes."""
    import highspy

    if threads != _scheduler_threads[0]:
        if _scheduler_threads[0] is not None or threads is not None:
            highspy.Highs.resetGlobalScheduler(True)
        _scheduler_threads[0] = threads
    t0 = time.perf_counter()
    # HiGHS runs in highspy's solver thread while this one waits, so Ctrl-C arrives here at once
    # (a plain h.run() holds it until the search ends); HiGHS then stops at its next interrupt
    # check with its incumbent.
    h.HandleUserInterrupt = True
    h.startSolve()
    try:
        while not h.wait(0.1)[0]:
            pass
    except KeyboardInterrupt:
        h.cancelSolve()
        _wait_stopped(h)
        raise Interrupted() from None
    except BaseException:  # e.g. a batch's SIGTERM: stop HiGHS too (a C++ thread still running
        h.cancelSolve()  # at interpreter exit aborts the process: "terminate called ...")
        _wait_stopped(h)
        raise
    return time.perf_counter() - t0


def run_interruptible(h: Any) -> float:
    """``h.run()`` that Ctrl-C stops at once (raising :class:`Interrupted`), with the thread
    count of the last run (for solvers that drive highspy themselves, such as ``cg``)."""
    return _run(h, _scheduler_threads[0])


def _wait_stopped(h: Any, force_after: int = 3) -> None:
    """Wait for a cancelled HiGHS to stop; ``force_after`` more Ctrl-C give up waiting."""
    presses = 0
    while True:
        try:
            if h.wait(0.1)[0]:
                return
        except KeyboardInterrupt:
            presses += 1
            if presses >= force_after:
                raise


def solve_arrays(
    *,
    cost: np.ndarray,
    a: sp.csc_array,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    integer: np.ndarray | None,
    options: HighsOptions,
    offset: float = 0.0,
    start: np.ndarray | None = None,
) -> MilpResults:
    """min cost·v s.t. row_lower ≤ A v ≤ row_upper, bounds, integrality (None: an LP).

    ``start`` is a full column-value vector passed as a MIP start. When HiGHS's objective
    then disagrees with its solution's (see the module docstring), the start is kept at its own
    value, with a bound no higher, and HiGHS runs again without it in the time left.
    """
    t0 = time.perf_counter()
    a = sp.csc_array(a)
    a.sort_indices()
    mip = integer is not None and bool(np.any(integer))
    model = dict(
        cost=cost,
        a=a,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=col_lower,
        col_upper=col_upper,
        integer=integer,
        offset=offset,
        mip=mip,
    )
    if not mip or start is None:
        return _solve_once(**model, options=options, start=None)
    try:
        res = _objective_checked(_solve_once(**model, options=options, start=start), cost, offset)
    except Interrupted as exc:
        if isinstance(exc.partial, MilpResults):
            exc.partial = _objective_checked(exc.partial, cost, offset)
        raise
    if res.objective_reported is None:
        return res
    # the run pruned against a value no plan has: ask again, without the start but with its
    # value as the cutoff (on c25-r150's restricted MILP the bound after 15 s was 0.8305 with
    # the cutoff, 0.8163 without; default-c6-r24-s4's was proven in 5.6 s with it, 4.3 s without)
    left = None
    if options.time_limit_s is not None:
        left = options.time_limit_s - (time.perf_counter() - t0)
        if left < 0.01:  # no time to ask again: the start, unproven
            return dataclasses.replace(res, time_limit=True)
    assert res.objective is not None  # the start is feasible: HiGHS kept a solution
    cutoff = res.objective + CUTOFF_SLACK * max(1.0, abs(res.objective))
    retry_options = HighsOptions(
        **{**options.__dict__, "time_limit_s": left, "objective_cutoff": cutoff}
    )
    try:
        again = _objective_checked(
            _solve_once(**model, options=retry_options, start=None), cost, offset
        )
    except Interrupted as exc:
        if isinstance(exc.partial, MilpResults):
            exc.partial = _merged(res, _objective_checked(exc.partial, cost, offset), cutoff)
        raise
    return _merged(res, again, cutoff)


def _solve_once(
    *,
    cost: np.ndarray,
    a: sp.csc_array,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    integer: np.ndarray | None,
    offset: float,
    mip: bool,
    options: HighsOptions,
    start: np.ndarray | None,
) -> MilpResults:
    """One HiGHS run of the model (``a`` in CSC with sorted indices)."""
    import highspy

    t0 = time.perf_counter()
    h = new_highs()
    # Any dense row, binding or not: a restricted MILP of c25-r150 (a gNB link row with 37 % of
    # the columns that cannot bind) ran past 70 s of a 16 s limit with the sub-MIPs on, and
    # ended on time with them off (reports/highs/README.md, "A dense row that cannot bind").
    dense = mip and has_dense_row(a, int(row_lower.shape[0]))
    configure(h, options, dense=dense)
    lp = highspy.HighsLp()
    lp.num_col_ = int(cost.shape[0])
    lp.num_row_ = int(row_lower.shape[0])
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.offset_ = float(offset)
    lp.col_lower_ = np.asarray(col_lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(col_upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    if mip:
        kint, kcont = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
        lp.integrality_ = [kint if f else kcont for f in np.asarray(integer).tolist()]
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")
    misjudged: list[float] = []
    if start is not None and mip:
        if not options.guarded:
            # Feasibility jump only looks for a first incumbent, which the start already is;
            # at c25-r150 it ran 1.2 s past the time limit after a long presolve. The guarded
            # (presolve-free) LNS sub-MIPs keep it: there it was measured finding better plans.
            h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=np.float64)
        sol.value_valid = True
        sol.dual_valid = False
        h.setSolution(sol)
        misjudged = _watch_objective(h, cost, offset)
    load_s = time.perf_counter() - t0
    try:
        solve_s = _run(h, options.threads)
    except Interrupted as exc:  # the incumbent so far goes up with the interrupt
        exc.partial = _results(
            h, mip=mip, load_s=load_s, solve_s=time.perf_counter() - t0 - load_s, dense=dense
        )
        raise
    res = _results(h, mip=mip, load_s=load_s, solve_s=solve_s, dense=dense)
    if misjudged:
        res = dataclasses.replace(res, objective_reported=misjudged[0])
    return res


def _agree(a: float, b: float) -> bool:
    return abs(a - b) <= OBJECTIVE_CHECK_RTOL * max(1.0, abs(a), abs(b))


def _watch_objective(h: Any, cost: np.ndarray, offset: float) -> list[float]:
    """Stop HiGHS at its next interrupt check once it reports a solution at a value that is not
    ``cost·x + offset`` of that solution (the MIP start mis-carried through presolve: HiGHS
    reports it as its first solution, before the root LP); returns the list the misjudged
    values go to."""
    misjudged: list[float] = []

    def on_solution(e: Any) -> None:
        d = e.data_out
        z = float(np.dot(cost, np.asarray(d.mip_solution)) + offset)
        if not _agree(float(d.objective_function_value), z):
            misjudged.append(float(d.objective_function_value))

    def on_interrupt(e: Any) -> None:
        if misjudged:
            e.interrupt()

    h.cbMipImprovingSolution += on_solution
    h.cbMipInterrupt += on_interrupt
    return misjudged


def _objective_checked(res: MilpResults, cost: np.ndarray, offset: float) -> MilpResults:
    """``res``, or when HiGHS's objective disagrees with ``cost·x + offset`` of its solution: that
    value as objective, a bound no higher, not proven (``objective_reported``: HiGHS's value).

    The bound stays a lower bound: HiGHS pruned only nodes whose LP value reached the value it
    held, so a better plan than the one returned is worth at least min(bound, that value).
    """
    if res.x is None or res.objective is None:
        return res
    z = float(np.dot(cost, res.x) + offset)
    if _agree(res.objective, z):
        return res
    bound = None if res.bound is None else min(res.bound, z)
    return dataclasses.replace(
        res,
        proven_optimal=False,
        objective=z,
        bound=bound,
        gap=None if bound is None else (z - bound) / max(abs(z), 1e-300),
        objective_reported=res.objective
        if res.objective_reported is None
        else res.objective_reported,
    )


def _merged(first: MilpResults, again: MilpResults, cutoff: float) -> MilpResults:
    """The run with a start whose objective was corrected (``first``) and the run without it,
    under ``cutoff`` (``again``): the better solution, the higher valid bound, the second run's
    status.

    Under a cutoff HiGHS's bound holds for plans below it only: it may even stop "Optimal" at a
    plan above the cutoff with the bound there (seen: 1.6769 under a cutoff of 1.6569), which
    says that no plan below the cutoff exists. So the second run's bound counts up to the cutoff,
    and an exhausted search ("Optimal", or "Infeasible": nothing below the cutoff) proves the
    better of its plan and the start.
    """
    use_again = again.x is not None and (
        first.objective is None
        or (again.objective is not None and again.objective <= first.objective)
    )
    best = again if use_again else first
    exhausted = again.proven_optimal or again.infeasible
    capped: float | None = None
    if again.infeasible:
        capped = cutoff
    elif again.bound is not None:
        capped = min(again.bound, cutoff)
    bounds = [b for b in (first.bound, capped) if b is not None]
    bound = max(bounds) if bounds else None
    if bound is not None and best.objective is not None:
        bound = min(bound, best.objective)
    return dataclasses.replace(
        again,
        termination="Optimal" if exhausted and best.x is not None else again.termination,
        proven_optimal=exhausted and best.x is not None,
        infeasible=again.infeasible and best.x is None,
        objective=best.objective,
        x=best.x,
        bound=bound,
        gap=None
        if bound is None or best.objective is None
        else (best.objective - bound) / max(abs(best.objective), 1e-300),
        nodes=first.nodes + again.nodes,
        simplex_iterations=first.simplex_iterations + again.simplex_iterations,
        load_s=first.load_s + again.load_s,
        solve_s=first.solve_s + again.solve_s,
        dense_row_guard=first.dense_row_guard or again.dense_row_guard,
        objective_reported=first.objective_reported,
        start_dropped=True,
    )


def _results(
    h: Any, *, mip: bool, load_s: float, solve_s: float, dense: bool = False
) -> MilpResults:
    import highspy

    ms = highspy.HighsModelStatus
    status = h.getModelStatus()
    info = h.getInfo()
    has = info.primal_solution_status == 2
    if mip:
        bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
        gap = float(info.mip_gap) if has and math.isfinite(info.mip_gap) else None
    else:
        bound = float(info.objective_function_value) if status == ms.kOptimal else None
        gap = None
    return MilpResults(
        termination=h.modelStatusToString(status),
        proven_optimal=status == ms.kOptimal,
        # x is binary and the objective is bounded below, so "unbounded or infeasible" is infeasible
        infeasible=status in (ms.kInfeasible, ms.kUnboundedOrInfeasible),
        time_limit=status == ms.kTimeLimit,
        objective=float(info.objective_function_value) if has else None,
        bound=bound,
        gap=gap,
        nodes=int(info.mip_node_count) if mip else 0,
        simplex_iterations=int(info.simplex_iteration_count),
        load_s=load_s,
        solve_s=solve_s,
        x=np.asarray(h.getSolution().col_value) if has else None,
        dense_row_guard=dense,
    )
