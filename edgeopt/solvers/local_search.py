"""Local search for any solver: ``X+ls`` runs solver X, then polishes its plan.

``polish(problem, assignment)`` is the strategic-oscillation tabu search of
:mod:`edgeopt.solvers.oscillation` (shift, swap and ejection chains through
feasible and infeasible plans under adaptive capacity penalties); it never
returns a plan worse than its start. Without a time limit it stops after
``stall`` steps without a new best.

``descent(problem, assignment)`` is the earlier shift/swap descent (``X+descent``),
kept for comparison. It descends from a feasible plan with two moves,
each evaluated exactly from the plan state's loads:

- *shift*: give one item another of its columns (any option, any bin);
- *swap*: two items on different bins exchange bins, each keeping its option.

Every accepted move keeps all capacities and either lowers Z, or keeps Z and
lowers the spread Σu² of the balanced loads (so the search can walk along a
bottleneck plateau where two controllers tie at the maximum).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edgeopt.core.plan import PlanState
from edgeopt.core.problem import Problem
from edgeopt.core.result import Outcome, SolveResult, Status
from edgeopt.core.tolerances import IMPROVE_TOL
from edgeopt.solvers.oscillation import oscillate
from edgeopt.solvers.registry import (
    Deadline,
    chain,
    get_solver,
    passed_on,
    register,
    register_composite,
)

__all__ = ["polish", "descent", "local_search", "polish_outcome", "ColumnIndex"]


def _pick(z: np.ndarray, spread: np.ndarray) -> int:
    """Index of the least Z; among (near-)ties, the least spread of balanced loads."""
    zmin = z.min()
    near = z <= zmin + IMPROVE_TOL * max(1.0, abs(zmin))
    return int(np.flatnonzero(near)[np.argmin(spread[near])])


def _better(z_new: float, s_new: float, z: float, s: float) -> bool:
    """Lower Z, or the same Z (to IMPROVE_TOL relative) with a smaller spread: a strict descent."""
    tol = IMPROVE_TOL * max(1.0, abs(z))
    return z_new < z - tol or (z_new <= z + tol * 1e-3 and s_new < s - IMPROVE_TOL * max(1.0, s))


def _best_shift(st: PlanState, i: int) -> tuple[float, float, int]:
    cols, ok, z = st.moves(i)
    ok[cols == st.assignment[i]] = False
    if not ok.any():
        return np.inf, np.inf, -1
    z = np.where(ok, z, np.inf)
    spread = st.balance_spread_after(cols, st.load_without(i))
    k = _pick(z, spread)
    return float(z[k]), float(spread[k]), int(cols[k])


class ColumnIndex:
    """(item, option, bin) → column, by binary search over sorted keys (no dense cube)."""

    def __init__(self, p: Problem):
        self.n_opt, self.n_bin = len(p.option_ids), p.n_bins
        keys = (p.col_item * self.n_opt + p.col_option) * self.n_bin + p.col_bin
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]

    def find(self, item: np.ndarray, option: np.ndarray, b: np.ndarray) -> np.ndarray:
        key = (item * self.n_opt + option) * self.n_bin + b
        pos = np.minimum(np.searchsorted(self.keys, key), self.keys.size - 1)
        return np.where(self.keys[pos] == key, self.order[pos], -1)


def _best_swap(st: PlanState, index: ColumnIndex, i1: int) -> tuple[float, float, int, int, int]:
    """Best bin exchange of item i1 with any item on another bin (options kept)."""
    p, a = st.problem, st.assignment
    c1 = int(a[i1])
    b1, o1 = p.col_bin[c1], p.col_option[c1]
    bins, opts = p.col_bin[a], p.col_option[a]
    others = np.flatnonzero(bins != b1)
    if others.size == 0:
        return np.inf, np.inf, -1, -1, -1
    j1 = index.find(np.full(others.size, i1), np.full(others.size, o1), bins[others])
    j2 = index.find(others, opts[others], np.full(others.size, b1))
    keep = (j1 >= 0) & (j2 >= 0)
    if not keep.any():
        return np.inf, np.inf, -1, -1, -1
    others, j1, j2 = others[keep], j1[keep], j2[keep]
    ok, z, spread = st.exchanges(j1, j2, a[others], np.full(others.size, c1))
    if not ok.any():
        return np.inf, np.inf, -1, -1, -1
    z = np.where(ok, z, np.inf)
    k = _pick(z, spread)
    return float(z[k]), float(spread[k]), int(others[k]), int(j1[k]), int(j2[k])


def polish(
    problem: Problem,
    assignment: np.ndarray,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    stall: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Strategic-oscillation tabu search from a feasible ``assignment`` until ``stall`` steps
    bring no new best (default 5 · items, at least 5000) or time runs out."""

    if stall is None:
        stall = max(5000, 5 * problem.n_items)
    a, stats = oscillate(
        problem, assignment, seed=seed, deadline=Deadline.after(time_limit_s), stall=stall
    )
    stats["ls_s"] = stats["so_s"]
    stats["ls_stopped_by_time"] = stats["so_stopped_by"] == "time"
    return a, stats


def descent(
    problem: Problem,
    assignment: np.ndarray,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    max_rounds: int = 1000,
    swaps: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Improve a feasible ``assignment`` until no shift or swap helps (or time runs out)."""
    t0 = time.perf_counter()
    deadline = Deadline.after(time_limit_s)
    rng = np.random.default_rng(seed)
    st = PlanState(problem, np.asarray(assignment, dtype=np.int64))
    z, spread = st.z(), st.balance_spread()
    moves: dict[str, Any] = {"shift": 0, "swap": 0, "rounds": 0}
    index = ColumnIndex(problem) if swaps and problem.n_bins > 1 else None
    for _ in range(max_rounds):
        moves["rounds"] += 1
        improved = False
        for i in rng.permutation(problem.n_items):
            zi, si, j = _best_shift(st, int(i))
            if j >= 0 and _better(zi, si, z, spread):
                st.move(int(i), j)
                z, spread = st.z(), st.balance_spread()
                moves["shift"] += 1
                improved = True
            if deadline.passed():
                break
        if index is not None and not deadline.passed():
            for i1 in rng.permutation(problem.n_items):
                zs, ss, i2, j1, j2 = _best_swap(st, index, int(i1))
                if i2 >= 0 and _better(zs, ss, z, spread):
                    st.remove(int(i1))
                    st.remove(i2)
                    st.add(j1)
                    st.add(j2)
                    z, spread = st.z(), st.balance_spread()
                    moves["swap"] += 1
                    improved = True
                if deadline.passed():
                    break
        if not improved or deadline.passed():
            break
    moves["ls_s"] = round(time.perf_counter() - t0, 6)
    moves["ls_stopped_by_time"] = deadline.passed()
    return st.assignment.copy(), moves


def polish_outcome(
    problem: Problem,
    base: SolveResult,
    *,
    seed: int | None,
    deadline: Deadline,
    method: Any = None,
) -> Outcome:
    """Polish ``base``'s plan within ``deadline`` (with :func:`polish`, or ``method``); a base
    without a plan passes its status on."""
    if not base.has_plan or base.assignment is None:
        return passed_on(base, "polish")
    run = polish if method is None else method
    a, stats = run(problem, base.assignment, seed=seed, time_limit_s=deadline.share(1.0))
    # A base that proved optimality stays optimal (the referee re-checks the bound).
    cut = base.status == "time_limit" or stats["ls_stopped_by_time"]
    status: Status | None = (
        "optimal" if base.status == "optimal" else ("time_limit" if cut else None)
    )
    return Outcome(
        a,
        status,
        bound=base.bound,
        stats={**base.stats, **stats, "base_objective": base.objective, "base_status": base.status},
    )


@register("local-search", "random feasible start, then strategic-oscillation tabu search (as +ls)")
def local_search(
    problem: Problem, *, seed: int | None = None, time_limit_s: float | None = None
) -> Outcome:
    """Seeded random construction polished by :func:`polish`."""
    deadline = Deadline.after(time_limit_s)
    base = get_solver("random")(problem, seed=seed, time_limit_s=time_limit_s)
    return polish_outcome(problem, base, seed=seed, deadline=deadline)


def _ls_composite(base_name: str) -> tuple[Any, str]:
    def then(problem: Problem, base: SolveResult, seed: int | None, deadline: Deadline) -> Outcome:
        return polish_outcome(problem, base, seed=seed, deadline=deadline)

    return chain(base_name, then, f"{base_name}, then strategic-oscillation tabu search")


def _descent_composite(base_name: str) -> tuple[Any, str]:
    def then(problem: Problem, base: SolveResult, seed: int | None, deadline: Deadline) -> Outcome:
        return polish_outcome(problem, base, seed=seed, deadline=deadline, method=descent)

    return chain(base_name, then, f"{base_name}, then shift/swap descent (the earlier +ls)")


register_composite("+ls", _ls_composite)
register_composite("+descent", _descent_composite)
