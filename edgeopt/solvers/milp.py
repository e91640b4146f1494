"""Exact MILP of the core problem (MODEL.md §5): a Pyomo model solved by HiGHS.

``build_model`` is pure and reads like §5; solving compiles the model with
Pyomo's ``LinearStandardFormCompiler`` into sparse matrices and hands them to
HiGHS in one ``passModel`` call (Pyomo's persistent HiGHS interfaces walk every
constraint in Python and cost 4–6× more per column; see ``stats['build_s']``).

Statuses: ``optimal`` only when HiGHS proves optimality, i.e. Z − bound ≤
max(mip_gap·|Z|, 1e-6) with ``mip_gap`` = 1e-6 by default (HiGHS's own default
1e-4 would call a solution with a visible gap optimal); ``time_limit`` when the
limit stops the search (with the incumbent, if any); ``infeasible`` when HiGHS
proves it or an item has no admissible column.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from edgeopt.core.evaluate import evaluate
from edgeopt.core.problem import Problem
from edgeopt.errors import InputError, SolverError
from edgeopt.solvers.base import SolveResult, finish, get_solver, infeasible_result, register
from edgeopt.solvers.reduce import Reduction, reduce_problem

_BANNER_SHOWN = False


def new_highs() -> Any:
    """A ``highspy.Highs`` instance; the first one's copyright banner (printed by the C++
    library straight to file descriptor 1) is kept off stdout so command output stays clean."""
    global _BANNER_SHOWN
    import os
    import sys

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

__all__ = [
    "DEFAULT_MIP_GAP",
    "HEURISTIC_START",
    "CompiledModel",
    "build_model",
    "compile_model",
    "heuristic_start",
    "solve",
    "solve_lp",
]

#: Relative gap under which HiGHS may stop and report optimal (its default is 1e-4).
DEFAULT_MIP_GAP = 1e-6
#: ``warm_start`` value that selects this module's regret-greedy + local-search start.
HEURISTIC_START = "heuristic"
#: Share of the time limit the warm-start heuristic may use (and at most this many seconds).
_HEURISTIC_SHARE, _HEURISTIC_MAX_S = 0.02, 1.0


# --------------------------------------------------------------------------- model
def build_model(problem: Problem) -> Any:
    """The Pyomo model of MODEL.md §5 for ``problem`` (pure: no solver is touched).

    Indices are positions: ``x[j]`` is column ``j`` of the problem, ``assign_once[i]``
    item ``i``, ``capacity[l]`` and ``balance[l]`` resource ``l``. ``U`` and the
    ``balance`` family exist only when some resource is balanced; a capacity row
    no column uses is left out.

    Examples
    --------
    >>> p = Problem.from_columns(name="t", item_ids=["a", "b"], bin_ids=["x", "y"],
    ...     option_ids=["-"], resource_ids=["x", "y"], col_item=[0, 0, 1],
    ...     col_bin=[0, 1, 0], col_option=[0, 0, 0], col_cost=[1.0, 2.0, 3.0],
    ...     use_rows=[0, 1, 0], use_cols=[0, 1, 2], use_vals=[1.0, 1.0, 1.0],
    ...     capacity=[1.0, 1.0], balanced=[True, True], balance_weight=0.5)
    >>> m = build_model(p)
    >>> len(m.x), len(m.assign_once), len(m.capacity), len(m.balance)
    (3, 2, 2, 2)
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    empty = problem.empty_items
    if empty:
        raise InputError(f"no admissible column for item(s): {', '.join(empty[:5])}")
    ptr = problem.item_ptr
    use = problem.use_csr
    cap = problem.capacity
    balanced = np.flatnonzero(problem.balanced)

    m = pyo.ConcreteModel(name=problem.name)
    m.x = pyo.Var(range(problem.n_columns), domain=pyo.Binary)
    x = list(m.x.values())
    used_rows = np.flatnonzero(np.diff(use.indptr))

    def row(r: int) -> tuple[list[float], list[Any]]:
        lo, hi = use.indptr[r], use.indptr[r + 1]
        return use.data[lo:hi].tolist(), [x[j] for j in use.indices[lo:hi].tolist()]

    # LinearExpression with precomputed coefficient lists skips Pyomo's operator
    # overloading: building costs about 1 µs per nonzero instead of tens.
    def assign_once(m: Any, i: int) -> Any:
        lo, hi = int(ptr[i]), int(ptr[i + 1])
        return (
            LinearExpression(constant=0.0, linear_coefs=[1.0] * (hi - lo), linear_vars=x[lo:hi])
            == 1
        )

    def capacity(m: Any, r: int) -> Any:
        coefs, xs = row(r)
        return LinearExpression(constant=0.0, linear_coefs=coefs, linear_vars=xs) <= float(cap[r])

    m.assign_once = pyo.Constraint(range(problem.n_items), rule=assign_once)
    m.capacity = pyo.Constraint(used_rows.tolist(), rule=capacity)
    cost_coefs = problem.col_cost.tolist()
    cost_vars = list(x)
    if balanced.size:
        m.U = pyo.Var(domain=pyo.NonNegativeReals)

        def balance(m: Any, r: int) -> Any:
            coefs, xs = row(r)
            return (
                LinearExpression(constant=0.0, linear_coefs=[*coefs, -1.0], linear_vars=[*xs, m.U])
                <= 0
            )

        m.balance = pyo.Constraint(balanced.tolist(), rule=balance)
        cost_coefs.append(float(problem.balance_weight))
        cost_vars.append(m.U)
    m.total_cost = pyo.Objective(
        expr=LinearExpression(constant=0.0, linear_coefs=cost_coefs, linear_vars=cost_vars),
        sense=pyo.minimize,
    )
    return m


@dataclass(frozen=True)
class CompiledModel:
    """A Pyomo model as HiGHS arrays: min c·v s.t. row_lower ≤ A v ≤ row_upper, bounds, integrality.

    ``x_pos[j]`` is the matrix column of ``x[j]`` and ``u_pos`` that of ``U`` (-1 if absent).
    """

    cost: np.ndarray
    offset: float
    a: sp.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    x_pos: np.ndarray
    u_pos: int

    @property
    def n_vars(self) -> int:
        return int(self.cost.shape[0])

    @property
    def n_cons(self) -> int:
        return int(self.row_lower.shape[0])


def compile_model(model: Any) -> CompiledModel:
    """Compile a :func:`build_model` model with Pyomo's standard-form compiler."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    order = list(model.x.values())
    u = getattr(model, "U", None)
    if u is not None:
        order.append(u)
    info = LinearStandardFormCompiler().write(model, mixed_form=True, column_order=order)
    cols = info.columns
    pos = {id(v): k for k, v in enumerate(cols)}
    x_pos = np.fromiter(
        (pos.get(id(v), -1) for v in model.x.values()), dtype=np.int64, count=len(model.x)
    )
    bound_type = np.fromiter(
        (r.bound_type for r in info.rows), dtype=np.int64, count=len(info.rows)
    )
    rhs = np.asarray(info.rhs, dtype=np.float64)
    inf = np.inf
    lower = np.where(bound_type <= 0, rhs, -inf)  # 0: equality, -1: lower bound
    upper = np.where(bound_type >= 0, rhs, inf)  # 1: upper bound
    lb = np.array([-inf if v.lb is None else v.lb for v in cols], dtype=np.float64)
    ub = np.array([inf if v.ub is None else v.ub for v in cols], dtype=np.float64)
    integer = np.array([v.is_integer() for v in cols], dtype=bool)
    cost = np.asarray(info.c.toarray()).reshape(-1) if info.c.shape[0] else np.zeros(len(cols))
    return CompiledModel(
        cost=cost,
        offset=float(info.c_offset[0]) if len(info.c_offset) else 0.0,
        a=sp.csc_array(info.A),
        row_lower=lower,
        row_upper=upper,
        col_lower=lb,
        col_upper=ub,
        integer=integer,
        x_pos=x_pos,
        u_pos=pos.get(id(u), -1) if u is not None else -1,
    )


def _highs(
    cm: CompiledModel,
    *,
    relax: bool,
    time_limit_s: float | None,
    mip_gap: float,
    threads: int | None,
    seed: int | None,
    log: bool,
) -> Any:
    import highspy

    h = new_highs()
    h.setOptionValue("output_flag", bool(log))
    if time_limit_s is not None:
        h.setOptionValue("time_limit", max(float(time_limit_s), 1e-3))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    if seed is not None:
        h.setOptionValue("random_seed", int(seed) % 2147483647)
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    # HiGHS accepts x within 1e-6 of integral by default; with a bottleneck U that lets its
    # objective drift ~1e-6 from the evaluator's on the rounded plan. Tighter tolerances keep
    # the two within the referee's 1e-6 relative agreement.
    h.setOptionValue("mip_feasibility_tolerance", 1e-9)
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    lp = highspy.HighsLp()
    lp.num_col_ = cm.n_vars
    lp.num_row_ = cm.n_cons
    lp.col_cost_ = cm.cost
    lp.offset_ = cm.offset
    lp.col_lower_ = cm.col_lower
    lp.col_upper_ = cm.col_upper
    lp.row_lower_ = cm.row_lower
    lp.row_upper_ = cm.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = cm.a.indptr
    lp.a_matrix_.index_ = cm.a.indices
    lp.a_matrix_.value_ = cm.a.data
    if not relax and cm.integer.any():
        kint, kcont = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
        lp.integrality_ = [kint if f else kcont for f in cm.integer.tolist()]
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")
    return h


_scheduler_threads: list[int | None] = [None]


def _run(h: Any, threads: int | None) -> float:
    """Run HiGHS; its thread pool is global, so restart it when the thread count changes."""
    import highspy

    if threads != _scheduler_threads[0]:
        if _scheduler_threads[0] is not None or threads is not None:
            highspy.Highs.resetGlobalScheduler(True)
        _scheduler_threads[0] = threads
    t0 = time.perf_counter()
    h.run()
    return time.perf_counter() - t0


def _build(problem: Problem) -> tuple[CompiledModel, float]:
    """Build and compile, with the garbage collector paused (Pyomo makes many small objects)."""
    t0 = time.perf_counter()
    enabled = gc.isenabled()
    gc.disable()
    try:
        cm = compile_model(build_model(problem))
    finally:
        if enabled:
            gc.enable()
    return cm, time.perf_counter() - t0


# ---------------------------------------------------------------------- warm start
def heuristic_start(
    problem: Problem, *, seed: int | None = None, time_limit_s: float | None = 2.0
) -> np.ndarray | None:
    """A feasible assignment from regret greedy + shift/swap local search, or None.

    Construction assigns, one at a time, the item whose best and second-best
    feasible columns differ most (the "regret"); local search then applies the
    best improving single-item move (shift) or two-item exchange (swap) until
    none improves or the time runs out. Cost includes w_U·U.
    """
    t_end = time.perf_counter() + (time_limit_s if time_limit_s is not None else 1e9)
    rng = np.random.default_rng(seed)
    ls = _LocalSearch(problem)
    if not ls.construct(t_end):
        return None
    ls.improve(rng, t_end)
    return ls.assignment.copy()


class _LocalSearch:
    """Regret construction and shift/swap descent over one core problem (vectorised per item)."""

    def __init__(self, problem: Problem):
        self.p = problem
        use = sp.csc_array(problem.use)
        use.sort_indices()
        self.indptr, self.rows, self.vals = use.indptr, use.indices, use.data
        self.col_of_nz = np.repeat(np.arange(problem.n_columns), np.diff(self.indptr))
        self.cap = problem.capacity * (1.0 + 1e-12)
        self.bal = problem.balanced
        self.w_u = problem.balance_weight if problem.balanced.any() else 0.0
        self.loads = np.zeros(problem.n_resources)
        self.assignment = np.full(problem.n_items, -1, dtype=np.int64)
        self.cost = problem.col_cost

    # Loads after adding column j to the current loads, as max over its resources of load - cap.
    def _slack_after(self, loads: np.ndarray) -> np.ndarray:
        excess = loads[self.rows] + self.vals - self.cap[self.rows]
        worst = np.full(self.p.n_columns, -np.inf)
        np.maximum.at(worst, self.col_of_nz, excess)
        return worst

    def _u(self, loads: np.ndarray) -> float:
        return float(loads[self.bal].max()) if self.w_u else 0.0

    def _bal_after(self, loads: np.ndarray) -> np.ndarray:
        """U after adding each column to ``loads``."""
        u_now = self._u(loads)
        u_new = np.full(self.p.n_columns, u_now)
        if self.w_u:
            m = self.bal[self.rows]
            np.maximum.at(u_new, self.col_of_nz[m], loads[self.rows[m]] + self.vals[m])
        return u_new

    def construct(self, t_end: float) -> bool:
        p = self.p
        ptr = p.item_ptr
        open_items = np.ones(p.n_items, dtype=bool)
        for _ in range(p.n_items):
            if time.perf_counter() > t_end:
                return False
            fits = self._slack_after(self.loads) <= 0
            eff = self.cost + self.w_u * self._bal_after(self.loads)
            eff = np.where(fits & open_items[p.col_item], eff, np.inf)
            best = np.minimum.reduceat(eff, ptr[:-1])
            # first best column of each item, then the second best with it masked out
            hits = np.flatnonzero(np.isfinite(eff) & (eff == best[p.col_item]))
            items_hit, at = np.unique(p.col_item[hits], return_index=True)
            first_of_item = np.full(p.n_items, -1, dtype=np.int64)
            first_of_item[items_hit] = hits[at]
            eff2 = eff.copy()
            eff2[hits[at]] = np.inf
            second = np.minimum.reduceat(eff2, ptr[:-1])
            cand = open_items & np.isfinite(best)
            if not cand.any():
                return False
            with np.errstate(invalid="ignore"):
                gap2 = np.where(np.isfinite(second), second - best, np.inf)
            regret = np.where(cand, gap2, -np.inf)
            top = np.flatnonzero(regret == regret.max())
            i = int(top[np.argmin(best[top])])
            j = int(first_of_item[i])
            self._place(i, j)
            open_items[i] = False
        return True

    def _place(self, i: int, j: int) -> None:
        old = self.assignment[i]
        if old >= 0:
            lo, hi = self.indptr[old], self.indptr[old + 1]
            self.loads[self.rows[lo:hi]] -= self.vals[lo:hi]
        lo, hi = self.indptr[j], self.indptr[j + 1]
        self.loads[self.rows[lo:hi]] += self.vals[lo:hi]
        self.assignment[i] = j

    def _item_moves(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(columns of i, feasible?, objective delta) when item i alone moves."""
        p = self.p
        cur = int(self.assignment[i])
        lo, hi = int(p.item_ptr[i]), int(p.item_ptr[i + 1])
        base = self.loads.copy()
        a, b = self.indptr[cur], self.indptr[cur + 1]
        base[self.rows[a:b]] -= self.vals[a:b]
        cols = np.arange(lo, hi)
        nz_lo, nz_hi = self.indptr[lo], self.indptr[hi]
        rows, vals = self.rows[nz_lo:nz_hi], self.vals[nz_lo:nz_hi]
        owner = self.col_of_nz[nz_lo:nz_hi] - lo
        excess = np.full(hi - lo, -np.inf)
        np.maximum.at(excess, owner, base[rows] + vals - self.cap[rows])
        delta = self.cost[cols] - self.cost[cur]
        if self.w_u:
            u_base = self._u(base)
            u_new = np.full(hi - lo, u_base)
            m = self.bal[rows]
            np.maximum.at(u_new, owner[m], base[rows[m]] + vals[m])
            delta = delta + self.w_u * (u_new - self._u(self.loads))
        return cols, excess <= 0, delta

    def improve(self, rng: np.random.Generator, t_end: float) -> None:
        p = self.p
        improved = True
        while improved and time.perf_counter() < t_end:
            improved = False
            for i in rng.permutation(p.n_items):
                cols, ok, delta = self._item_moves(int(i))
                delta = np.where(ok, delta, np.inf)
                k = int(np.argmin(delta))
                if delta[k] < -1e-9:
                    self._place(int(i), int(cols[k]))
                    improved = True
            if not improved and self._swap_pass(rng, t_end):
                improved = True

    def _swap_pass(self, rng: np.random.Generator, t_end: float) -> bool:
        """Exchange bins of two items when that helps (one-option-per-bin problems)."""
        p = self.p
        if p.n_items > 2000:
            return False
        z_before = evaluate(p, self.assignment).objective
        for i in rng.permutation(p.n_items):
            if time.perf_counter() > t_end:
                return False
            i = int(i)
            ci = int(self.assignment[i])
            for k in range(p.n_items):
                ck = int(self.assignment[k])
                if k == i or p.col_bin[ck] == p.col_bin[ci]:
                    continue
                ji = self._column_on(i, int(p.col_bin[ck]), int(p.col_option[ci]))
                jk = self._column_on(k, int(p.col_bin[ci]), int(p.col_option[ck]))
                if ji < 0 or jk < 0:
                    continue
                if (
                    self.cost[ji] + self.cost[jk] >= self.cost[ci] + self.cost[ck] - 1e-9
                    and not self.w_u
                ):
                    continue
                self._place(i, ji)
                self._place(k, jk)
                ev = evaluate(p, self.assignment)
                if ev.feasible and ev.objective < z_before - 1e-9:
                    return True
                self._place(k, ck)
                self._place(i, ci)
        return False

    def _column_on(self, i: int, b: int, option: int) -> int:
        p = self.p
        lo, hi = int(p.item_ptr[i]), int(p.item_ptr[i + 1])
        hits = np.flatnonzero((p.col_bin[lo:hi] == b) & (p.col_option[lo:hi] == option))
        return lo + int(hits[0]) if hits.size else -1


def _resolve_start(
    problem: Problem, warm_start: Any, *, seed: int | None, budget_s: float | None
) -> tuple[np.ndarray | None, str]:
    """The warm-start assignment on ``problem`` and a note of where it came from."""
    if warm_start is None:
        return None, "none"
    if isinstance(warm_start, str):
        if warm_start == HEURISTIC_START:
            a = heuristic_start(problem, seed=seed, time_limit_s=budget_s)
        else:
            res = get_solver(warm_start)(problem, seed=seed, time_limit_s=budget_s)
            a = res.assignment
        source = warm_start
    else:
        a = warm_start
        source = "assignment"
    if a is None:
        return None, f"{source}: no assignment"
    a = np.asarray(a, dtype=np.int64).reshape(-1)
    if a.shape[0] != problem.n_items:
        raise InputError(
            f"warm start has {a.shape[0]} entries, problem has {problem.n_items} items",
            field="warm_start",
        )
    ev = evaluate(problem, a)
    if not ev.feasible:
        return None, f"{source}: infeasible, ignored ({'; '.join(ev.violations[:2])})"
    return a, source


# -------------------------------------------------------------------------- solving
def _status_name(h: Any) -> str:
    return h.modelStatusToString(h.getModelStatus())


def _settings(**kw: Any) -> dict[str, Any]:
    ws = kw.get("warm_start")
    if ws is not None and not isinstance(ws, str):
        kw["warm_start"] = "assignment"
    return kw


def _prepare(problem: Problem, reduce: bool) -> tuple[Reduction, float]:
    t0 = time.perf_counter()
    if reduce:
        red = reduce_problem(problem)
    else:
        idx = np.arange(problem.n_columns, dtype=np.int64)
        red = Reduction(problem=problem, kept=idx, to_reduced=idx)
    return red, time.perf_counter() - t0


@register("milp", "exact MILP: Pyomo model of MODEL.md §5 solved by HiGHS branch and bound")
def solve(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    mip_gap: float = DEFAULT_MIP_GAP,
    threads: int | None = None,
    warm_start: str | np.ndarray | None = None,
    reduce: bool = True,
    log: bool = False,
) -> SolveResult:
    """Solve the core problem exactly (to ``mip_gap``) with HiGHS.

    :param seed: HiGHS ``random_seed`` (and the warm-start heuristic's seed).
    :param time_limit_s: wall-clock limit for the whole call (heuristic, build and search).
    :param mip_gap: relative gap at which HiGHS stops and reports optimal (default 1e-6).
    :param threads: HiGHS threads (None = HiGHS default).
    :param warm_start: None, ``"heuristic"`` (this module's regret + local search),
        a registered solver name, or an assignment (column index per item); a
        feasible start is passed to HiGHS as a MIP start, an infeasible one is ignored.
    :param reduce: drop dominated columns first (never changes the optimum).
    :param log: print HiGHS's log.
    """
    started = time.perf_counter()
    settings = _settings(
        seed=seed,
        time_limit_s=time_limit_s,
        mip_gap=mip_gap,
        threads=threads,
        warm_start=warm_start,
        reduce=reduce,
    )
    bad = infeasible_result(problem, "milp", started=started, settings=settings)
    if bad is not None:
        return bad
    red, reduce_s = _prepare(problem, reduce)
    rp = red.problem

    t0 = time.perf_counter()
    budget = None
    if isinstance(warm_start, str):
        budget = (
            _HEURISTIC_MAX_S
            if time_limit_s is None
            else min(_HEURISTIC_MAX_S, _HEURISTIC_SHARE * time_limit_s)
        )
    start, start_note = _resolve_start(problem, warm_start, seed=seed, budget_s=budget)
    warm_s = time.perf_counter() - t0

    cm, build_s = _build(rp)
    remaining = None if time_limit_s is None else time_limit_s - (time.perf_counter() - started)
    h = _highs(
        cm,
        relax=False,
        time_limit_s=remaining,
        mip_gap=mip_gap,
        threads=threads,
        seed=seed,
        log=log,
    )
    start_objective = None
    if start is not None:
        col_value = np.zeros(cm.n_vars)
        reduced_start = red.to_reduced[start]
        col_value[cm.x_pos[reduced_start]] = 1.0
        ev = evaluate(rp, reduced_start)
        start_objective = ev.objective
        if cm.u_pos >= 0:
            col_value[cm.u_pos] = ev.max_balanced
        _set_start(h, col_value)

    solve_s = _run(h, threads)
    return _mip_result(
        problem,
        red,
        cm,
        h,
        started=started,
        settings=settings,
        stats={
            "reduce_s": reduce_s,
            "warm_start_s": warm_s,
            "build_s": build_s,
            "solve_s": solve_s,
            "n_vars": cm.n_vars,
            "n_cons": cm.n_cons,
            "n_nonzeros": int(cm.a.nnz),
            "columns_removed": red.removed,
            "mip_gap_tolerance": mip_gap,
            "warm_start": start_note,
            "warm_start_objective": start_objective,
        },
    )


def _set_start(h: Any, col_value: np.ndarray) -> None:
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = col_value
    sol.value_valid = True
    sol.dual_valid = False
    h.setSolution(sol)


def _mip_result(
    problem: Problem,
    red: Reduction,
    cm: CompiledModel,
    h: Any,
    *,
    started: float,
    settings: dict[str, Any],
    stats: dict[str, Any],
) -> SolveResult:
    import highspy

    ms = highspy.HighsModelStatus
    status = h.getModelStatus()
    info = h.getInfo()
    stats["highs_status"] = _status_name(h)
    stats["nodes"] = int(info.mip_node_count)
    has_incumbent = info.primal_solution_status == 2
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    stats["mip_gap"] = float(info.mip_gap) if has_incumbent and np.isfinite(info.mip_gap) else None
    if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        # x is binary and w_U ≥ 0 with U ≥ 0, so Z is bounded below: "unbounded or
        # infeasible" can only mean infeasible.
        return SolveResult(
            solver="milp",
            status="infeasible",
            assignment=None,
            objective=None,
            wall_s=time.perf_counter() - started,
            settings=settings,
            stats=stats,
            message=f"HiGHS: {stats['highs_status']}",
        )
    assignment = None
    if has_incumbent:
        x = np.asarray(h.getSolution().col_value)[cm.x_pos]
        assignment = _assignment_from_x(red, x)
    if status == ms.kOptimal:
        name = "optimal"
    elif status == ms.kTimeLimit:
        name = "time_limit"
    elif has_incumbent:
        name = "feasible"
    else:
        name = "error"
    if assignment is None and name == "optimal":
        name = "error"
    res = finish(
        problem,
        "milp",
        assignment,
        started=started,
        status=name,
        bound=bound,
        settings=settings,
        stats=stats,
        reported_objective=float(info.objective_function_value) if assignment is not None else None,
        message=f"HiGHS: {stats['highs_status']}",
    )
    if res.evaluation is not None and not res.evaluation.feasible:
        res.status = "error"
        res.message = "HiGHS incumbent fails the evaluator: " + "; ".join(
            res.evaluation.violations[:3]
        )
    return res


def _assignment_from_x(red: Reduction, x: np.ndarray) -> np.ndarray:
    """Column index per item (original numbering) from the reduced model's x values."""
    rp = red.problem
    chosen = np.flatnonzero(x > 0.5)
    counts = np.bincount(rp.col_item[chosen], minlength=rp.n_items)
    if not (counts == 1).all():
        bad = np.flatnonzero(counts != 1)[:3]
        raise SolverError(
            "HiGHS solution does not pick exactly one column for item(s) "
            + ", ".join(rp.item_ids[i] for i in bad)
        )
    a = np.empty(rp.n_items, dtype=np.int64)
    a[rp.col_item[chosen]] = red.kept[chosen]
    return a


@register("lp", "LP relaxation bound of the MILP (HiGHS simplex); never a plan")
def solve_lp(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    threads: int | None = None,
    reduce: bool = True,
    log: bool = False,
    **_ignored: Any,
) -> SolveResult:
    """The LP relaxation value as a lower bound (status ``bound``, objective None)."""
    import highspy

    started = time.perf_counter()
    settings = _settings(seed=seed, time_limit_s=time_limit_s, threads=threads, reduce=reduce)
    bad = infeasible_result(problem, "lp", started=started, settings=settings)
    if bad is not None:
        return bad
    red, reduce_s = _prepare(problem, reduce)
    cm, build_s = _build(red.problem)
    remaining = None if time_limit_s is None else time_limit_s - (time.perf_counter() - started)
    h = _highs(
        cm,
        relax=True,
        time_limit_s=remaining,
        mip_gap=DEFAULT_MIP_GAP,
        threads=threads,
        seed=seed,
        log=log,
    )
    solve_s = _run(h, threads)
    info = h.getInfo()
    status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    stats = {
        "reduce_s": reduce_s,
        "build_s": build_s,
        "solve_s": solve_s,
        "n_vars": cm.n_vars,
        "n_cons": cm.n_cons,
        "columns_removed": red.removed,
        "highs_status": _status_name(h),
        "simplex_iterations": int(info.simplex_iteration_count),
    }
    bound = None
    if status == ms.kOptimal:
        name, bound = "bound", float(info.objective_function_value)
    elif status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        name = "infeasible"
    elif status == ms.kTimeLimit:
        name = "time_limit"
    else:
        name = "error"
    return SolveResult(
        solver="lp",
        status=name,
        assignment=None,
        objective=None,
        bound=bound,
        wall_s=time.perf_counter() - started,
        settings=settings,
        stats=stats,
        message=f"HiGHS: {stats['highs_status']}",
    )
