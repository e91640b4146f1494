"""Local search polish for any solver: shift and swap moves the evaluator accepts.

``polish(problem, assignment)`` descends from a feasible plan with two moves,
each evaluated exactly on dense load deltas:

- *shift*: give one item another of its columns (any option, any bin);
- *swap*: two items on different bins exchange bins, each keeping its option.

Every accepted move keeps all capacities and either lowers Z, or keeps Z and
lowers the spread Σu² of the balanced loads (so the search can walk along a
bottleneck plateau where two controllers tie at the maximum). ``X+ls`` in the registry runs solver X, then polishes its plan.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edgeopt.core.evaluate import FEAS_TOL
from edgeopt.core.problem import Problem
from edgeopt.solvers.base import (
    SolveResult,
    finish,
    get_solver,
    infeasible_result,
    register,
    register_composite,
)

__all__ = ["polish", "local_search"]


class _State:
    """Current plan with loads; exact Z of candidate moves from dense deltas."""

    def __init__(self, p: Problem, a: np.ndarray):
        self.p = p
        self.a = a.copy()
        self.use = p.use
        self.limit = p.capacity * (1.0 + FEAS_TOL)
        self.load = np.asarray(p.use @ np.bincount(a, minlength=p.n_columns).astype(float))
        self.bal = p.balanced
        self.wu = p.balance_weight
        self.cost = float(p.col_cost[a].sum())

    def z_of(self, loads: np.ndarray, cost: np.ndarray) -> np.ndarray:
        """Z for candidate load columns (n_res × n) and total costs (n)."""
        if self.bal.any():
            u = np.maximum(loads[self.bal].max(axis=0), 0.0)
            return cost + self.wu * u
        return cost

    def z(self) -> float:
        return float(self.z_of(self.load[:, None], np.array([self.cost]))[0])

    def spread_of(self, loads: np.ndarray) -> np.ndarray:
        """Σ of squared balanced loads: the tie-breaker that walks along bottleneck plateaus."""
        if self.bal.any():
            b = loads[self.bal]
            return (b * b).sum(axis=0)
        return np.zeros(loads.shape[1])

    def spread(self) -> float:
        return float(self.spread_of(self.load[:, None])[0])

    def best_shift(self, i: int) -> tuple[float, float, int]:
        lo, hi = int(self.p.item_ptr[i]), int(self.p.item_ptr[i + 1])
        cur = self.a[i]
        if hi - lo < 2:
            return np.inf, np.inf, -1
        cand = self.use[:, lo:hi].toarray()
        new = self.load[:, None] - self.use[:, [cur]].toarray() + cand
        ok = (new <= self.limit[:, None]).all(axis=0)
        ok[cur - lo] = False
        if not ok.any():
            return np.inf, np.inf, -1
        cost = self.cost - self.p.col_cost[cur] + self.p.col_cost[lo:hi]
        z = np.where(ok, self.z_of(new, cost), np.inf)
        k = _pick(z, self.spread_of(new))
        return float(z[k]), float(self.spread_of(new[:, [k]])[0]), lo + k

    def apply(self, i: int, j: int) -> None:
        cur = self.a[i]
        self.load += (self.use[:, [j]] - self.use[:, [cur]]).toarray().ravel()
        self.cost += self.p.col_cost[j] - self.p.col_cost[cur]
        self.a[i] = j


def _pick(z: np.ndarray, spread: np.ndarray) -> int:
    """Index of the least Z; among (near-)ties, the least spread of balanced loads."""
    zmin = z.min()
    near = z <= zmin + 1e-12 * max(1.0, abs(zmin))
    return int(np.flatnonzero(near)[np.argmin(spread[near])])


def _better(z_new: float, s_new: float, z: float, s: float) -> bool:
    """Lower Z, or the same Z (to 1e-12 relative) with a smaller spread: a strict descent."""
    tol = 1e-12 * max(1.0, abs(z))
    return z_new < z - tol or (z_new <= z + tol * 1e-3 and s_new < s - 1e-12 * max(1.0, s))


def _column_map(p: Problem) -> np.ndarray:
    """(n_items, n_options, n_bins) → column index or -1."""
    m = np.full((p.n_items, len(p.option_ids), p.n_bins), -1, dtype=np.int64)
    m[p.col_item, p.col_option, p.col_bin] = np.arange(p.n_columns)
    return m


def _best_swap(st: _State, cmap: np.ndarray, i1: int) -> tuple[float, float, int, int, int]:
    """Best bin exchange of item i1 with any item on another bin (options kept)."""
    p, a = st.p, st.a
    b1 = p.col_bin[a[i1]]
    o1 = p.col_option[a[i1]]
    bins = p.col_bin[a]
    opts = p.col_option[a]
    others = np.flatnonzero(bins != b1)
    if others.size == 0:
        return np.inf, np.inf, -1, -1, -1
    j1 = cmap[i1, o1, bins[others]]  # i1 onto each partner's bin
    j2 = cmap[others, opts[others], b1]  # partner onto i1's bin
    keep = (j1 >= 0) & (j2 >= 0)
    if not keep.any():
        return np.inf, np.inf, -1, -1, -1
    others, j1, j2 = others[keep], j1[keep], j2[keep]
    cur2 = a[others]
    use = st.use
    delta = use[:, j1].toarray() + use[:, j2].toarray() - use[:, cur2].toarray() - use[:, [a[i1]]].toarray()
    new = st.load[:, None] + delta
    ok = (new <= st.limit[:, None]).all(axis=0)
    if not ok.any():
        return np.inf, np.inf, -1, -1, -1
    cost = st.cost + p.col_cost[j1] + p.col_cost[j2] - p.col_cost[cur2] - p.col_cost[a[i1]]
    z = np.where(ok, st.z_of(new, cost), np.inf)
    spread = st.spread_of(new)
    k = _pick(z, spread)
    return float(z[k]), float(spread[k]), int(others[k]), int(j1[k]), int(j2[k])


def polish(
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
    rng = np.random.default_rng(seed)
    st = _State(problem, np.asarray(assignment, dtype=np.int64))
    z, spread = st.z(), st.spread()
    moves: dict[str, Any] = {"shift": 0, "swap": 0, "rounds": 0}
    cmap = _column_map(problem) if swaps and problem.n_bins > 1 else None

    def out_of_time() -> bool:
        return time_limit_s is not None and time.perf_counter() - t0 > time_limit_s

    for _ in range(max_rounds):
        moves["rounds"] += 1
        improved = False
        for i in rng.permutation(problem.n_items):
            zi, si, j = st.best_shift(int(i))
            if j >= 0 and _better(zi, si, z, spread):
                st.apply(int(i), j)
                z, spread = st.z(), st.spread()
                moves["shift"] += 1
                improved = True
            if out_of_time():
                break
        if cmap is not None and not out_of_time():
            for i1 in rng.permutation(problem.n_items):
                zs, ss, i2, j1, j2 = _best_swap(st, cmap, int(i1))
                if i2 >= 0 and _better(zs, ss, z, spread):
                    st.apply(int(i1), j1)
                    st.apply(i2, j2)
                    z, spread = st.z(), st.spread()
                    moves["swap"] += 1
                    improved = True
                if out_of_time():
                    break
        if not improved or out_of_time():
            break
    moves["ls_s"] = round(time.perf_counter() - t0, 6)
    return st.a, moves


def polish_result(problem: Problem, base: SolveResult, name: str, *, seed: int | None, time_limit_s: float | None) -> SolveResult:
    """Polish ``base``'s plan; a base without a feasible plan is returned renamed."""
    t0 = time.perf_counter() - base.wall_s
    settings = {**base.settings, "polish": "ls"}
    if base.assignment is None or base.evaluation is None or not base.evaluation.feasible:
        return finish(problem, name, None, started=t0, status=base.status if base.status == "infeasible" else "error",
                      settings=settings, message=base.message or "no feasible plan to polish")
    remaining = None if time_limit_s is None else max(time_limit_s - base.wall_s, 0.0)
    a, stats = polish(problem, base.assignment, seed=seed, time_limit_s=remaining)
    # A base that proved optimality stays optimal; anything else is a feasible plan.
    status = "optimal" if base.status == "optimal" else "feasible"
    return finish(problem, name, a, started=t0, status=status, bound=base.bound, settings=settings,
                  stats={**base.stats, **stats, "base_objective": base.objective})


@register("local-search", "random feasible start, then shift/swap local search to a local optimum")
def local_search(problem: Problem, *, seed: int | None = None, time_limit_s: float | None = None, **options: Any) -> SolveResult:
    """Seeded random construction polished by :func:`polish`."""
    t0 = time.perf_counter()
    bad = infeasible_result(problem, "local-search", started=t0, settings={"seed": seed, "time_limit_s": time_limit_s})
    if bad is not None:
        return bad
    base = get_solver("random")(problem, seed=seed, time_limit_s=time_limit_s)
    return polish_result(problem, base, "local-search", seed=seed, time_limit_s=time_limit_s)


def _ls_composite(base_name: str):
    def solve(problem: Problem, *, seed: int | None = None, time_limit_s: float | None = None, **options: Any) -> SolveResult:
        base = get_solver(base_name)(problem, seed=seed, time_limit_s=time_limit_s, **options)
        return polish_result(problem, base, f"{base_name}+ls", seed=seed, time_limit_s=time_limit_s)

    solve.__doc__ = f"{base_name}, then shift/swap local search"
    return solve


register_composite("+ls", _ls_composite)
