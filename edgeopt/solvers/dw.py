"""Pattern bounds: Dantzig–Wolfe by bin, with the bottleneck U treated parametrically.

The LP of docs/model.md §5 splits each controller's capacity and load fractionally, and
its min-max term is weak (one heavy column sits fractionally everywhere). This module
bounds Z from below by two classical strengthenings, combined:

**U by intervals** (Lenstra–Shmoys–Tardos). Cut [0, U_max] into intervals [lo, hi]. A
plan whose bottleneck U lies in [lo, hi] uses no column whose own balanced load exceeds
hi, loads no balanced resource above hi, and pays at least w_U·lo. The least, over the
intervals, of a bound on each is a bound on Z; intervals are split where the bound is
lowest, so the bound rises as the grid refines.

**Patterns by bin** (Savelsbergh 1997; Pigatti, Poggi de Aragão & Uchoa 2005). A
resource used by one bin only (a controller's compute and memory, a GAP agent's
capacity) is *local*; the others (links) are *shared*. A pattern of bin b is a set of
its columns, at most one per item, that fits b's local capacities (compute capped at
hi). The master LP chooses at most one pattern per bin (convexity row) and each item
once, under the shared capacities and the balance rows; bins without local resources
(the cloud) keep their columns as they are. Pricing is, per bin, a multiple-choice
knapsack over the local resources with dual-adjusted costs (the balance dual is a price
on load), solved exactly by a small HiGHS MIP whose *dual bound* is what enters:

    L(π, y, ν) = Σ_i π_i − Σ_shared y_ℓ + min_{U∈[lo,hi]} (w_U − Σν)·U
                 + Σ_b min(0, KP_b) + Σ_i min(0, least free rc of i)

is a valid bound on every plan of the interval for any π, y ≥ 0, ν ≥ 0, at every
iteration (a stopped run keeps a proven bound); at convergence it equals the master's
value, the Dantzig–Wolfe bound, which is never below the LP bound of the interval.
Duals are smoothed (Wentges) towards the best Lagrangian multipliers.

With duals (π, y, ν) and an incumbent of value Z*, a column j of bin b with
``rc_j = c_j − π_i + (y + ν)·a_j`` > Z* − L can be in no better plan of that interval
(the pattern holding it costs at least rc_j more than KP_b): :func:`survivors` removes
them before any MIP runs.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numba as nb
import numpy as np
import scipy.sparse as sp

from edgeopt.core.evaluate import FEAS_TOL, evaluate
from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import (
    IMPROVE_TOL,
    LP_ZERO,
    PATTERN_MIP_ABS_GAP,
    PATTERN_MIP_REL_GAP,
    PRICING_TOL,
    RC_FIX_ATOL,
    RC_FIX_RTOL,
    TINY,
)
from edgeopt.solvers.budgets import MIN_HIGHS_TIME_S
from edgeopt.solvers.cg import cheapest_columns
from edgeopt.solvers.highs import new_highs, solve_arrays
from edgeopt.solvers.oscillation import oscillate
from edgeopt.solvers.registry import Deadline

__all__ = [
    "Structure",
    "Interval",
    "PatternBound",
    "knapsack",
    "interval_bound",
    "pattern_bound",
    "survivors",
    "pool_plan",
]

#: Relative tolerance for "prices out" and for two bounds being equal.
_TOL = PRICING_TOL


# --------------------------------------------------------------------------- structure
@dataclass
class Structure:
    """Which resources are local to one bin, which are shared, and the columns per bin."""

    #: per column: the largest use of a balanced resource (its own contribution to U)
    col_bal_load: np.ndarray
    #: bins that have local resources (their columns go into patterns)
    pattern_bins: np.ndarray
    #: per pattern bin: its columns (sorted), and its local resources
    bin_cols: list[np.ndarray]
    bin_res: list[np.ndarray]
    #: per pattern bin: dense (n_cols_b × n_local) use of its local resources
    bin_use: list[np.ndarray]
    #: columns of bins without local resources (kept as single columns)
    free_cols: np.ndarray
    #: resources used by columns of more than one bin
    shared: np.ndarray
    #: balanced resources
    balanced: np.ndarray
    #: scaled use on the master's rows: shared rows divided by capacity, balanced rows raw
    price_use: sp.csr_array = field(repr=False)

    @classmethod
    def of(cls, p: Problem) -> Structure:
        use = sp.csc_array(p.use)
        use.sort_indices()
        coo = sp.coo_array(use)
        res, col = coo.row, coo.col
        bins = p.col_bin[col]
        n_res = p.n_resources
        # resources used by exactly one bin are local to it
        lo = np.full(n_res, np.iinfo(np.int64).max)
        hi = np.full(n_res, -1)
        np.minimum.at(lo, res, bins)
        np.maximum.at(hi, res, bins)
        used = hi >= 0
        local = used & (lo == hi)
        shared = np.flatnonzero(used & (lo != hi))
        owner = np.where(local, hi, -1)
        balanced = np.flatnonzero(p.balanced)
        bal_use = sp.csr_array(use[balanced]) if balanced.size else None
        col_bal = (
            np.asarray(bal_use.max(axis=0).toarray()).ravel()
            if bal_use is not None and bal_use.nnz
            else np.zeros(p.n_columns)
        )
        order = np.argsort(p.col_bin, kind="stable")
        starts = np.searchsorted(p.col_bin[order], np.arange(p.n_bins + 1))
        pattern_bins, bin_cols, bin_res, bin_use = [], [], [], []
        free: list[np.ndarray] = []
        for b in range(p.n_bins):
            cols = order[starts[b] : starts[b + 1]]
            if cols.size == 0:
                continue
            r = np.flatnonzero(owner == b)
            if r.size == 0:
                free.append(cols)
                continue
            pattern_bins.append(b)
            bin_cols.append(cols)
            bin_res.append(r)
            bin_use.append(np.asarray(sp.csr_array(use[:, cols])[r].toarray().T))
        rows = np.r_[shared, balanced]
        scale = np.r_[1.0 / p.capacity[shared], np.ones(balanced.size)]
        price_use = sp.csr_array(sp.diags_array(scale) @ sp.csr_array(use)[rows])
        return cls(
            col_bal_load=col_bal,
            pattern_bins=np.asarray(pattern_bins, dtype=np.int64),
            bin_cols=bin_cols,
            bin_res=bin_res,
            bin_use=bin_use,
            free_cols=np.sort(np.concatenate(free)) if free else np.zeros(0, dtype=np.int64),
            shared=shared,
            balanced=balanced,
            price_use=price_use,
        )


# --------------------------------------------------------------------------- pricing
def _fractional(order, v, wmin, cap, start):  # pragma: no cover - numba
    """Σ over the items from ``start`` of the fractional knapsack on (v_i, lightest weight)."""
    left = cap
    total = 0.0
    for t in range(order.size):
        i = order[t]
        if i < start or v[i] >= 0.0:
            continue
        if wmin[i] <= left:
            total += v[i]
            left -= wmin[i]
        else:
            if wmin[i] > 0.0:
                total += v[i] * left / wmin[i]
            break
    return total


def _undo(depth, choice, rc, weight, left):  # pragma: no cover - numba
    """Take back the column chosen at ``depth`` (if any): its capacity returns to ``left``,
    the choice is cleared; returns its rc (to subtract from the running value)."""
    if depth < 0 or choice[depth] < 0:
        return 0.0
    j = choice[depth]
    for k in range(left.size):
        left[k] += weight[j, k]
    choice[depth] = -1
    return rc[j]


_undo_nb = nb.njit(cache=True)(_undo)


def _bb(rc, weight, ptr, cap, orders, v, wmin, lam, tail, max_nodes):  # pragma: no cover
    """Depth-first branch and bound for the multiple-choice knapsack; items are in DFS order,
    each item's columns in ptr ranges sorted by rc. Returns (best value, choice per item,
    nodes, finished)."""
    n_items = ptr.size - 1
    r = cap.size
    choice = np.full(n_items, -1, dtype=np.int64)
    best_choice = np.full(n_items, -1, dtype=np.int64)
    best = 0.0
    left = cap.copy()
    pos = np.zeros(n_items + 1, dtype=np.int64)  # next column index to try at each depth
    depth = 0
    pos[0] = ptr[0]
    value = 0.0
    nodes = 0
    while depth >= 0:
        if nodes >= max_nodes:
            return best, best_choice, nodes, False
        if depth == n_items:
            if value < best - 1e-15:
                best = value
                best_choice[:] = choice
            depth -= 1
            value -= _undo_nb(depth, choice, rc, weight, left)
            continue
        nodes += 1
        # bound on the rest from this depth on
        # Lagrangian bound with the root's multipliers: Σ_{rest} min(0, min (rc + λ·w)) − λ·left
        lb = tail[depth]
        for k in range(r):
            lb -= lam[k] * left[k]
        # fractional knapsack on resource k of the costs with the other resources priced by λ
        for k in range(r):
            b = _fractional_nb(orders[k], v[k], wmin[:, k], left[k], depth)
            for k2 in range(r):
                if k2 != k:
                    b -= lam[k2] * left[k2]
            lb = max(lb, b)
        if value + lb >= best - IMPROVE_TOL:
            # prune: back up
            depth -= 1
            value -= _undo_nb(depth, choice, rc, weight, left)
            continue
        # next option at this depth: a column that fits, else "none" (pos = ptr[depth+1]),
        # else exhausted
        j = pos[depth]
        placed = False
        while j < ptr[depth + 1]:
            fits = True
            for k in range(r):
                if weight[j, k] > left[k]:
                    fits = False
                    break
            if fits:
                break
            j += 1
        if j < ptr[depth + 1]:
            pos[depth] = j + 1
            choice[depth] = j
            value += rc[j]
            for k in range(r):
                left[k] -= weight[j, k]
            placed = True
        elif pos[depth] <= ptr[depth + 1]:
            pos[depth] = ptr[depth + 1] + 1  # "none" taken
            choice[depth] = -1
            placed = True
        if placed:
            depth += 1
            if depth < n_items:
                pos[depth] = ptr[depth]
            continue
        # exhausted: back up
        depth -= 1
        value -= _undo_nb(depth, choice, rc, weight, left)
    return best, best_choice, nodes, True


_fractional_nb = nb.njit(cache=True)(_fractional)
_bb_nb = nb.njit(cache=True)(_bb)


def _undominated(rc: np.ndarray, item: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Mask of the columns no other column of the same item dominates (rc and every weight
    no larger, one of them smaller or an earlier twin)."""
    n = rc.size
    keep = np.ones(n, dtype=bool)
    order = np.lexsort((rc, item))
    starts = np.r_[0, np.flatnonzero(np.diff(item[order])) + 1, n]
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        if b - a < 2:
            continue
        idx = order[a:b]  # by rc ascending
        w = weight[idx]
        le = (w[:, None, :] <= w[None, :, :]).all(axis=2)  # le[x, y]: x no heavier than y
        earlier = np.tri(b - a, k=-1, dtype=bool).T  # earlier[x, y]: x before y (rc ≤)
        dom = (le & earlier).any(axis=0)
        keep[idx[dom]] = False
    return keep


def _root_multipliers(
    rc: np.ndarray, li: np.ndarray, weight: np.ndarray, cap: np.ndarray, n_i: int, steps: int = 60
) -> np.ndarray:
    """Multipliers λ ≥ 0 on the capacities that (roughly) maximise the Lagrangian bound
    Σ_i min(0, min_j (rc_j + λ·w_j)) − λ·cap, by projected subgradient steps."""
    r = cap.size
    lam = np.zeros(r)
    scale = np.where(cap > 0, 1.0 / np.where(cap > 0, cap, 1.0), 1.0)
    step = float(np.abs(rc).max(initial=0.0)) + TINY
    best_v, best_lam = -np.inf, lam.copy()
    for t in range(steps):
        g = rc + weight @ lam
        m = np.zeros(n_i)
        np.minimum.at(m, li, g)
        arg = np.full(n_i, -1)
        hit = np.flatnonzero(g <= m[li])
        arg[li[hit]] = hit
        arg[m >= 0] = -1
        value = float(m.sum() - lam @ cap)
        if value > best_v:
            best_v, best_lam = value, lam.copy()
        used = weight[arg[arg >= 0]].sum(axis=0) if (arg >= 0).any() else np.zeros(r)
        sub = (used - cap) * scale
        norm = float(np.linalg.norm(sub))
        if norm < TINY:
            break
        lam = np.maximum(0.0, lam + (step / (t + 1)) * (sub / norm) * scale)
    return best_lam


def _knapsack_bb(
    rc: np.ndarray, item: np.ndarray, weight: np.ndarray, cap: np.ndarray, max_nodes: int
) -> tuple[float, float, np.ndarray] | None:
    """Exact multiple-choice knapsack by branch and bound, or None past ``max_nodes``."""
    items, li = np.unique(item, return_inverse=True)
    n_i = items.size
    v = np.zeros(n_i)
    np.minimum.at(v, li, rc)
    wmin = np.full((n_i, weight.shape[1]), np.inf)
    np.minimum.at(wmin, li, weight)
    # root multipliers on the capacities; items in DFS order by their least priced cost
    # rc + λ·w (the ones worth a place first), each item's columns by that priced cost
    r = weight.shape[1]
    lam = _root_multipliers(rc, li, weight, cap, n_i)
    g = rc + weight @ lam
    gmin = np.full(n_i, np.inf)
    np.minimum.at(gmin, li, g)
    rank = np.lexsort((v, gmin))
    pos_of = np.empty(n_i, dtype=np.int64)
    pos_of[rank] = np.arange(n_i)
    col_order = np.lexsort((rc, g, pos_of[li]))
    ptr = np.searchsorted(pos_of[li][col_order], np.arange(n_i + 1))
    wmin_d = wmin[rank]
    orders = np.empty((r, n_i), dtype=np.int64)
    vk = np.empty((r, n_i))
    for k in range(r):
        lam_k = lam.copy()
        lam_k[k] = 0.0
        m_k = np.zeros(n_i)
        np.minimum.at(m_k, li, rc + weight @ lam_k)
        vk[k] = m_k[rank]
        ratio = np.where(wmin_d[:, k] > 0, vk[k] / np.maximum(wmin_d[:, k], 1e-300), -np.inf)
        orders[k] = np.argsort(ratio, kind="stable")
    m = np.minimum(gmin, 0.0)
    tail = np.r_[np.cumsum(m[rank][::-1])[::-1], 0.0]
    best, choice, _, finished = _bb_nb(
        rc[col_order],
        np.ascontiguousarray(weight[col_order]),
        ptr.astype(np.int64),
        cap.astype(np.float64),
        orders,
        vk,
        np.ascontiguousarray(wmin_d),
        lam,
        tail,
        max_nodes,
    )
    if not finished:
        return None
    chosen = np.sort(col_order[choice[choice >= 0]])
    return float(best), float(rc[chosen].sum()), chosen


def knapsack(
    rc: np.ndarray,
    item: np.ndarray,
    weight: np.ndarray,
    cap: np.ndarray,
    *,
    time_limit_s: float = 5.0,
    max_nodes: int = 200_000,
) -> tuple[float, float, np.ndarray]:
    """Multiple-choice knapsack: min Σ rc_j z_j, at most one j per item, weight·z ≤ cap.

    Only columns with rc < 0 matter (pass those). Returns (proven lower bound, value of the
    returned choice, chosen positions); the bound is exact unless the time limit stopped
    HiGHS, and it never exceeds the true minimum.
    """
    n = rc.size
    if n == 0:
        return 0.0, 0.0, np.zeros(0, dtype=np.int64)
    # each item's best column, if they all fit together that is the optimum
    order = np.lexsort((rc, item))
    first = order[np.r_[True, np.diff(item[order]) > 0]]
    if (weight[first].sum(axis=0) <= cap).all():
        v = float(rc[first].sum())
        return v, v, np.sort(first)
    # drop columns dominated within their item (another as cheap and no heavier anywhere)
    keep = _undominated(rc, item, weight)
    if not keep.all():
        sub = np.flatnonzero(keep)
        lb, v, chosen = knapsack(
            rc[sub], item[sub], weight[sub], cap, time_limit_s=time_limit_s, max_nodes=max_nodes
        )
        return lb, v, sub[chosen]
    if max_nodes > 0:
        got = _knapsack_bb(rc, item, weight, cap, max_nodes)
        if got is not None:
            return got
    import highspy

    items, li = np.unique(item, return_inverse=True)
    h = new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", PATTERN_MIP_REL_GAP)
    h.setOptionValue("mip_abs_gap", PATTERN_MIP_ABS_GAP)
    h.setOptionValue("time_limit", max(time_limit_s, MIN_HIGHS_TIME_S))
    inf = highspy.kHighsInf
    h.addVars(n, np.zeros(n), np.ones(n))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), rc)
    h.changeColsIntegrality(
        n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger)
    )
    # A cardinality cut per resource: at most k items fit, k the largest count whose k
    # lightest items (each at its lightest column) fit. Memory with a per-request VM overhead
    # makes these knapsacks near-cardinality ones, where the plain LP bound is weak.
    least_w = np.full((items.size, weight.shape[1]), np.inf)
    np.minimum.at(least_w, li, weight)
    k_max = (np.cumsum(np.sort(least_w, axis=0), axis=0) <= cap).sum(axis=0)
    cuts = np.flatnonzero(k_max < items.size)
    a = sp.csr_array(
        sp.vstack(
            [
                sp.csr_array((np.ones(n), (li, np.arange(n))), shape=(items.size, n)),
                sp.csr_array(weight.T),
                sp.csr_array(np.ones((cuts.size, n))),
            ]
        )
    )
    h.addRows(
        a.shape[0],
        np.full(a.shape[0], -inf),
        np.r_[np.ones(items.size), cap, k_max[cuts].astype(float)],
        a.nnz,
        a.indptr[:-1].astype(np.int32),
        a.indices.astype(np.int32),
        a.data,
    )
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    sol = np.asarray(h.getSolution().col_value) if info.primal_solution_status else None
    if status == highspy.HighsModelStatus.kOptimal and sol is not None:
        chosen = np.flatnonzero(sol > 0.5)
        v = float(rc[chosen].sum())
        return min(v, float(info.mip_dual_bound)), v, chosen
    # stopped: its dual bound, or the LP-free bound Σ_i min(0, least rc) when it has none
    loose = float(np.minimum(rc[first], 0.0).sum())
    bound = float(info.mip_dual_bound)
    bound = loose if not math.isfinite(bound) else max(loose, bound)
    if sol is None:
        return bound, 0.0, np.zeros(0, dtype=np.int64)
    chosen = np.flatnonzero(sol > 0.5)
    return bound, float(rc[chosen].sum()), chosen


# --------------------------------------------------------------------------- one interval
@dataclass
class Interval:
    """Bound on the plans whose bottleneck U lies in [lo, hi]."""

    lo: float
    hi: float
    bound: float = -math.inf
    #: best multipliers: item duals π and prices on the master's priced rows (shared, balanced)
    pi: np.ndarray | None = None
    price: np.ndarray | None = None
    converged: bool = False
    iterations: int = 0
    #: the last restricted master's value (an upper estimate of the interval's DW bound)
    master: float = math.inf

    def __lt__(self, other: Interval) -> bool:  # heap order: lowest bound first
        return (self.bound, self.lo) < (other.bound, other.lo)


class _Pool:
    """Patterns found so far (any interval's): bin, columns, total cost, own balanced load."""

    def __init__(self) -> None:
        self.bins: list[int] = []
        self.cols: list[np.ndarray] = []
        self.load: list[float] = []
        self.seen: set[tuple[int, bytes]] = set()

    def add(self, b: int, cols: np.ndarray, load: float) -> bool:
        cols = np.sort(cols)
        key = (b, cols.tobytes())
        if key in self.seen or cols.size == 0:
            return False
        self.seen.add(key)
        self.bins.append(b)
        self.cols.append(cols)
        self.load.append(load)
        return True


def _lagrangian(
    p: Problem,
    st: Structure,
    iv: Interval,
    pi: np.ndarray,
    price: np.ndarray,
    allowed: np.ndarray,
    deadline: Deadline,
) -> tuple[float, list[tuple[int, float, np.ndarray]]]:
    """L(π, price) on the interval, and each bin's best pattern (bin, rc, global columns)."""
    n_sh = st.shared.size
    y = price[:n_sh]
    nu = price[n_sh:]
    rc = p.col_cost - pi[p.col_item] + st.price_use.T @ price
    w = float(p.balance_weight) if st.balanced.size else 0.0
    coef = w - float(nu.sum())
    value = float(pi.sum()) - float(y.sum()) + (coef * iv.lo if coef >= 0 else coef * iv.hi)
    if st.free_cols.size:
        f = st.free_cols[allowed[st.free_cols]]
        if f.size:
            least = np.zeros(p.n_items)
            np.minimum.at(least, p.col_item[f], rc[f])
            value += float(least.sum())
    found = []
    for k, b in enumerate(st.pattern_bins):
        cols = st.bin_cols[k]
        neg = (rc[cols] < 0) & allowed[cols]
        if not neg.any():
            continue
        sel = np.flatnonzero(neg)
        cap = p.capacity[st.bin_res[k]] * (1.0 + FEAS_TOL)
        if st.balanced.size:
            isbal = p.balanced[st.bin_res[k]]
            cap = np.where(isbal, np.minimum(cap, iv.hi), cap)
        left = deadline.left()
        lb, v, chosen = knapsack(
            rc[cols[sel]],
            p.col_item[cols[sel]],
            st.bin_use[k][sel],
            cap,
            time_limit_s=min(0.5, left) if math.isfinite(left) else 0.5,
        )
        value += min(0.0, lb)
        if chosen.size:
            found.append((int(b), v, cols[sel][chosen]))
    return value, found


def _pattern_load(p: Problem, st: Structure, cols: np.ndarray) -> float:
    """A pattern's own bottleneck load: its largest summed use of a balanced resource."""
    if st.balanced.size == 0:
        return 0.0
    return float(np.asarray(p.use[st.balanced][:, cols].sum(axis=1)).max(initial=0.0))


def _seed_patterns(
    p: Problem,
    st: Structure,
    iv: Interval,
    allowed: np.ndarray,
    deadline: Deadline,
    *,
    seconds: float,
) -> list[tuple[int, np.ndarray]]:
    """Patterns of a feasible plan of the interval (balanced capacities capped at hi), found
    by the oscillation search from each item's cheapest allowed column: with them the first
    master needs no artificial column, so its first duals are not the artificial cost."""

    idx = np.flatnonzero(allowed)
    if np.unique(p.col_item[idx]).size < p.n_items or seconds <= 0:
        return []
    q = p.subset(allowed)
    cap = q.capacity.copy()
    cap[st.balanced] = np.minimum(cap[st.balanced], iv.hi)
    q.capacity = cap
    left = deadline.left()
    plan, _ = oscillate(
        q,
        cheapest_columns(q),
        seed=0,
        deadline=Deadline.after(min(seconds, left) if math.isfinite(left) else seconds),
    )
    if not evaluate(q, plan).feasible:
        return []
    plan = idx[plan]
    return [(int(b), plan[p.col_bin[plan] == b]) for b in st.pattern_bins]


def interval_lp(
    p: Problem, st: Structure, iv: Interval, allowed: np.ndarray, deadline: Deadline
) -> tuple[float, np.ndarray, np.ndarray] | None:
    """The LP relaxation restricted to the interval (columns that fit it, balanced capacities
    capped at hi, U ∈ [lo, hi]): its value, item duals π and prices on shared and balance rows;
    value inf when the LP is infeasible (no plan has its U there), None when HiGHS stopped.
    Its duals start the pattern generation: the Lagrangian there is already ≥ this LP value."""
    import highspy

    cols = np.flatnonzero(allowed)
    if np.unique(p.col_item[cols]).size < p.n_items:  # an item has no column that fits
        return math.inf, np.zeros(0), np.zeros(0)
    n_items, n_sh, n_bal = p.n_items, st.shared.size, st.balanced.size
    w = float(p.balance_weight) if n_bal else 0.0
    use = sp.csr_array(p.use[:, cols])
    local = np.setdiff1d(np.flatnonzero(np.diff(use.indptr)), st.shared)
    cap_local = p.capacity[local] * (1.0 + FEAS_TOL)
    cap_local = np.where(p.balanced[local], np.minimum(cap_local, iv.hi), cap_local)
    k = cols.size
    once = sp.csr_array((np.ones(k), (p.col_item[cols], np.arange(k))), shape=(n_items, k))
    blocks = [
        once,
        sp.csr_array(sp.diags_array(1.0 / cap_local) @ use[local]),
        sp.csr_array(st.price_use[:, cols]),
    ]
    a = sp.csr_array(sp.vstack(blocks))
    if n_bal:
        a = sp.csr_array(
            sp.hstack(
                [
                    a,
                    sp.csr_array(
                        (
                            np.r_[-np.ones(n_bal)],
                            (a.shape[0] - n_bal + np.arange(n_bal), np.zeros(n_bal, dtype=int)),
                        ),
                        shape=(a.shape[0], 1),
                    ),
                ]
            )
        )
    a = sp.csc_array(a)
    a.sort_indices()
    inf = highspy.kHighsInf
    n_rows = a.shape[0]
    lp = highspy.HighsLp()
    lp.num_col_ = a.shape[1]
    lp.num_row_ = n_rows
    lp.col_cost_ = np.r_[p.col_cost[cols], [w] if n_bal else []]
    lp.col_lower_ = np.r_[np.zeros(k), [iv.lo] if n_bal else []]
    lp.col_upper_ = np.r_[np.ones(k), [iv.hi] if n_bal else []]
    lp.row_lower_ = np.r_[np.ones(n_items), np.full(n_rows - n_items, -inf)]
    lp.row_upper_ = np.r_[np.ones(n_items), np.ones(local.size + n_sh), np.zeros(n_bal)]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    h = new_highs()
    h.setOptionValue("output_flag", False)
    left = deadline.left()
    if math.isfinite(left):
        h.setOptionValue("time_limit", max(left, MIN_HIGHS_TIME_S))
    h.passModel(lp)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return math.inf, np.zeros(0), np.zeros(0)  # no plan has its U in this interval
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    dual = np.asarray(h.getSolution().row_dual)
    pi = dual[:n_items].copy()
    price = np.maximum(-dual[n_items + local.size :], 0.0)
    if n_bal and price[n_sh:].sum() > w:
        price[n_sh:] *= w / price[n_sh:].sum()
    return float(h.getInfo().objective_function_value), pi, price


def interval_bound(
    p: Problem,
    st: Structure,
    iv: Interval,
    pool: _Pool,
    *,
    deadline: Deadline,
    max_iterations: int = 10_000,
    smoothing: float = 0.5,
    use_lp: bool = True,
    seed_s: float = 0.5,
) -> Interval:
    """Column generation of patterns on one interval; raises ``iv.bound`` (never lowers it)."""
    import highspy

    n_items = p.n_items
    n_sh, n_bal = st.shared.size, st.balanced.size
    n_pb = st.pattern_bins.size
    w = float(p.balance_weight) if n_bal else 0.0
    allowed = st.col_bal_load <= iv.hi * (1.0 + FEAS_TOL) + TINY
    bin_row = np.full(p.n_bins, -1, dtype=np.int64)
    bin_row[st.pattern_bins] = n_items + np.arange(n_pb)
    r_sh = n_items + n_pb
    r_bal = r_sh + n_sh
    n_rows = r_bal + n_bal
    # Artificial columns keep the master feasible; a moderate cost (above what any column of
    # the item costs, plus the whole bottleneck term) keeps the item duals of the same size as
    # the costs: a huge one left them at thousands in degenerate bases, and every pattern then
    # "priced out" without ever entering. Only the Lagrangian is a bound, whatever this cost.
    item_max = np.maximum.reduceat(np.abs(p.col_cost), p.item_ptr[:-1])
    big = 2.0 * item_max + w * iv.hi + 1.0
    h = new_highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    h.addRows(
        n_rows,
        np.r_[np.ones(n_items), np.full(n_rows - n_items, -inf)],
        np.r_[np.ones(n_items), np.ones(n_pb), np.ones(n_sh), np.zeros(n_bal)],
        0,
        np.zeros(0, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
    )
    if n_bal:
        h.addCols(
            1,
            np.array([w]),
            np.array([iv.lo]),
            np.array([iv.hi]),
            n_bal,
            np.array([0], dtype=np.int32),
            (r_bal + np.arange(n_bal)).astype(np.int32),
            -np.ones(n_bal),
        )
    h.addCols(
        n_items,
        big,
        np.zeros(n_items),
        np.full(n_items, inf),
        n_items,
        np.arange(n_items, dtype=np.int32),
        np.arange(n_items, dtype=np.int32),
        np.ones(n_items),
    )
    pu = st.price_use
    pu_csc = sp.csc_array(pu)
    pu_csc.sort_indices()

    def add_column(cols: np.ndarray, b: int | None) -> None:
        """One master column: a pattern of bin b, or a free single column (b None)."""
        rows: list[np.ndarray] = [p.col_item[cols]]
        vals: list[np.ndarray] = [np.ones(cols.size)]
        if b is not None:
            rows.append(np.array([bin_row[b]]))
            vals.append(np.ones(1))
        # the pattern's summed use on the priced rows, gathered from the CSC arrays
        seg = [np.arange(pu_csc.indptr[j], pu_csc.indptr[j + 1]) for j in cols]
        at = np.concatenate(seg) if seg else np.zeros(0, dtype=np.int64)
        nz, inv = np.unique(pu_csc.indices[at], return_inverse=True)
        agg = np.bincount(inv, weights=pu_csc.data[at], minlength=nz.size)
        rows.append(r_sh + nz)
        vals.append(agg)
        idx = np.concatenate(rows).astype(np.int32)
        order = np.argsort(idx)
        h.addCols(
            1,
            np.array([float(p.col_cost[cols].sum())]),
            np.zeros(1),
            np.array([inf]),
            idx.size,
            np.array([0], dtype=np.int32),
            idx[order],
            np.concatenate(vals)[order],
        )

    for j in st.free_cols[allowed[st.free_cols]]:
        add_column(np.array([j]), None)
    in_master = 0
    for k in range(len(pool.bins)):
        if pool.load[k] <= iv.hi * (1.0 + FEAS_TOL) + TINY:
            add_column(pool.cols[k], pool.bins[k])
            in_master += 1
    if iv.iterations == 0:
        for b, cols in _seed_patterns(p, st, iv, allowed, deadline, seconds=seed_s):
            if pool.add(b, cols, _pattern_load(p, st, cols)):
                add_column(np.sort(cols), b)
    if iv.pi is None and use_lp:
        got = interval_lp(p, st, iv, allowed, deadline)
        if got is None:
            return iv
        if got[0] == math.inf:
            iv.bound, iv.converged = math.inf, True
            return iv
        _, lp_pi, lp_price = got
        value, first = _lagrangian(p, st, iv, lp_pi, lp_price, allowed, deadline)
        if value > iv.bound:
            iv.bound, iv.pi, iv.price = value, lp_pi, lp_price
        for b, _, cols in first:
            if pool.add(b, cols, _pattern_load(p, st, cols)):
                add_column(np.sort(cols), b)
    stab_pi, stab_price = iv.pi, iv.price
    # Dual box (du Merle-style, upper side): an item may also be "bought" at its centre dual
    # plus delta, so the master's item duals stay within delta above the centre, where the
    # patterns they price are sensible; delta grows whenever the master still buys an item
    art = (1 if n_bal else 0) + np.arange(n_items, dtype=np.int32)
    delta = 0.05 * max(1e-3, float(np.mean(np.abs(p.col_cost))))
    if stab_pi is not None:
        h.changeColsCost(n_items, art, np.minimum(big, np.maximum(stab_pi, 0.0) + delta))
    while iv.iterations < max_iterations:
        iv.iterations += 1
        left = deadline.left()
        if math.isfinite(left):
            h.setOptionValue("time_limit", max(left, MIN_HIGHS_TIME_S))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        master = float(h.getInfo().objective_function_value)
        iv.master = master
        dual = np.asarray(h.getSolution().row_dual)
        pi = dual[:n_items].copy()
        price = np.maximum(-dual[r_sh:], 0.0)
        if n_bal and price[n_sh:].sum() > w:
            price[n_sh:] *= w / price[n_sh:].sum()
        # Wentges smoothing: price at a point between the stability centre and the master duals
        found: list[tuple[int, float, np.ndarray]] = []
        for alpha in (smoothing, 0.0) if stab_pi is not None else (0.0,):
            if alpha > 0.0:
                assert stab_pi is not None and stab_price is not None
                s_pi = alpha * stab_pi + (1 - alpha) * pi
                s_price = alpha * stab_price + (1 - alpha) * price
            else:
                s_pi, s_price = pi, price
            value, found = _lagrangian(p, st, iv, s_pi, s_price, allowed, deadline)
            if value > iv.bound:
                iv.bound, iv.pi, iv.price = value, s_pi, s_price
                stab_pi, stab_price = s_pi, s_price
            # a pattern enters only if it prices out at the master's own duals
            rc_master = p.col_cost - pi[p.col_item] + pu.T @ price
            tol = _TOL * max(1.0, abs(master))
            new = [
                (b, c) for b, _, c in found if float(rc_master[c].sum()) - dual[bin_row[b]] < -tol
            ]
            if new:
                break
        added = 0
        for b, cols in new:
            if pool.add(b, cols, _pattern_load(p, st, cols)):
                add_column(np.sort(cols), b)
                added += 1
        # nothing prices out at the master's own duals (exact pricing): the Lagrangian there
        # equals the master's value, the Dantzig–Wolfe bound of the interval
        if added == 0:
            bought = np.asarray(h.getSolution().col_value)[art]
            if stab_pi is not None and bought.sum() > LP_ZERO:
                # the master still buys an item: raise its price (no cap, so an interval
                # that holds no plan sees its Lagrangian grow until it closes)
                delta *= 4.0
                h.changeColsCost(n_items, art, np.maximum(stab_pi, 0.0) + delta)
                continue
            iv.converged = True
            break
        if master - iv.bound <= _TOL * max(1.0, abs(master)):
            iv.converged = True
            break
        if deadline.passed():
            break
    return iv


# --------------------------------------------------------------------------- all intervals
@dataclass
class PatternBound:
    """Result of :func:`pattern_bound`: the bound and the intervals it is the least of."""

    bound: float
    intervals: list[Interval]
    patterns: int
    seconds: float
    proven_at: float | None = None
    history: list[tuple[float, float]] = field(default_factory=list)
    #: a bound proven for the whole problem beforehand (the LP's): every interval's too
    floor: float = -math.inf
    structure: Structure | None = field(default=None, repr=False)
    pool: _Pool | None = field(default=None, repr=False)

    def stats(self) -> dict[str, Any]:
        return {
            "dw_bound": self.bound,
            "dw_intervals": len(self.intervals),
            "dw_patterns": self.patterns,
            "dw_seconds": round(self.seconds, 3),
        }


def pattern_bound(
    p: Problem,
    *,
    deadline: Deadline,
    incumbent: float = math.inf,
    plan: np.ndarray | None = None,
    pieces: int = 8,
    min_width: float = 1e-4,
    visit: int = 10,
    floor: float = -math.inf,
) -> PatternBound:
    """The least pattern bound over U intervals, refining the interval whose bound is lowest.

    Stops when the lowest interval's bound reaches ``incumbent`` (the incumbent is then
    optimal), when every interval is converged and narrower than ``min_width``·U_max, or
    at the deadline. Every figure reported is a proven lower bound on Z. ``floor``: a bound
    already proven for the whole problem (the LP's), so for every interval too.
    """
    t0 = time.perf_counter()
    st = Structure.of(p)
    pool = _Pool()
    w = float(p.balance_weight) if st.balanced.size else 0.0
    u_max = float(p.capacity[st.balanced].max()) if st.balanced.size else 0.0
    history: list[tuple[float, float]] = []
    u_incumbent = None
    if plan is not None:  # the incumbent's patterns start every master
        plan = np.asarray(plan, dtype=np.int64)
        for b in st.pattern_bins:
            cols = plan[p.col_bin[plan] == b]
            pool.add(int(b), cols, _pattern_load(p, st, cols))
        if st.balanced.size:
            u_incumbent = float(
                np.asarray(p.use[st.balanced][:, plan].sum(axis=1)).max(initial=0.0)
            )
    if w == 0.0 or u_max == 0.0:
        grid = [Interval(0.0, u_max)]
    else:
        edges = np.linspace(0.0, u_max, pieces + 1)
        if u_incumbent is not None and 0.0 < u_incumbent < u_max:
            edges = np.unique(np.r_[edges, u_incumbent])
        grid = [Interval(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    heap: list[Interval] = []
    done: list[Interval] = []
    for iv in grid:
        # valid before any work: each item's cheapest column that fits the interval, and w·lo
        allowed = st.col_bal_load <= iv.hi * (1.0 + FEAS_TOL) + TINY
        least = np.minimum.reduceat(np.where(allowed, p.col_cost, np.inf), p.item_ptr[:-1])
        # (not floored: the heap must still see which intervals are cheap to rule out; a
        # floored tie sent the search through the hopeless low intervals first)
        iv.bound = float(least.sum()) + w * iv.lo
        if iv.bound >= incumbent:
            done.append(iv)
        else:
            heapq.heappush(heap, iv)

    # the LP of each interval first (the parametric-U LP bound): a proven bound for every
    # interval at once, closing those that hold no plan, and duals to start its patterns from
    for iv in sorted(heap, key=lambda x: x.bound):
        if deadline.passed():
            break
        allowed = st.col_bal_load <= iv.hi * (1.0 + FEAS_TOL) + TINY
        got = interval_lp(p, st, iv, allowed, deadline)
        if got is None:
            continue
        value, pi, price = got
        if value == math.inf:
            iv.bound, iv.converged = math.inf, True
        elif value > iv.bound:
            iv.bound, iv.pi, iv.price = value, pi, price
    heapq.heapify(heap)

    while heap and not deadline.passed():
        iv = heapq.heappop(heap)
        if iv.bound >= incumbent - _TOL * max(1.0, abs(incumbent)):
            done.append(iv)
            continue
        if not iv.converged:
            interval_bound(p, st, iv, pool, deadline=deadline, max_iterations=iv.iterations + visit)
            history.append((time.perf_counter() - t0, min(x.bound for x in [iv, *heap, *done])))
            heapq.heappush(heap, iv)
            if not iv.converged and deadline.passed():
                break
            continue
        if w == 0.0 or (iv.hi - iv.lo) <= min_width * max(u_max, TINY):
            done.append(iv)
            continue
        mid = 0.5 * (iv.lo + iv.hi)
        for lo, hi in ((iv.lo, mid), (mid, iv.hi)):
            child = Interval(lo, hi, bound=iv.bound, pi=iv.pi, price=iv.price)
            heapq.heappush(heap, child)
    intervals = heap + done
    bound = min(iv.bound for iv in intervals) if intervals else -math.inf
    bound = max(bound, floor)
    return PatternBound(
        bound=bound,
        intervals=sorted(intervals, key=lambda iv: iv.lo),
        patterns=len(pool.bins),
        seconds=time.perf_counter() - t0,
        history=history,
        structure=st,
        pool=pool,
        floor=floor,
    )


def pool_plan(
    p: Problem,
    res: PatternBound,
    *,
    options: Any,
    start: np.ndarray | None = None,
) -> np.ndarray | None:
    """Restricted-master heuristic: the MILP choosing whole patterns of the pool (at most one
    per bin) and single free columns so that every item is served once, under the shared
    capacities, with U over the patterns' loads. Returns a plan (one column per item) or None.
    """

    st = res.structure
    pool = res.pool
    if st is None or pool is None:
        return None
    n_items = p.n_items
    n_sh, n_bal = st.shared.size, st.balanced.size
    n_pb = st.pattern_bins.size
    bin_pos = np.full(p.n_bins, -1, dtype=np.int64)
    bin_pos[st.pattern_bins] = np.arange(n_pb)
    members = pool.cols + [np.array([j]) for j in st.free_cols]
    owner = pool.bins + [-1] * st.free_cols.size
    k = len(members)
    if k == 0:
        return None
    lens = np.array([m.size for m in members])
    flat = np.concatenate(members)
    var = np.repeat(np.arange(k), lens)
    priced = sp.csr_array((np.ones(flat.size), (var, flat)), shape=(k, p.n_columns)) @ sp.csc_array(
        st.price_use.T
    )  # k × (shared + balanced)
    priced = sp.csc_array(priced.T)
    w = float(p.balance_weight) if n_bal else 0.0
    has_conv = np.array([o >= 0 for o in owner])
    conv = sp.csr_array(
        (
            np.ones(int(has_conv.sum())),
            (bin_pos[np.array(owner)[has_conv]], np.flatnonzero(has_conv)),
        ),
        shape=(n_pb, k),
    )
    items = sp.csr_array((np.ones(flat.size), (p.col_item[flat], var)), shape=(n_items, k))
    body = sp.vstack([items, conv, priced])
    n_rows = body.shape[0]
    u_col = sp.csr_array(
        (-np.ones(n_bal), (n_items + n_pb + n_sh + np.arange(n_bal), np.zeros(n_bal, dtype=int))),
        shape=(n_rows, 1),
    )
    a = sp.csc_array(sp.hstack([body, u_col]) if n_bal else body)
    cost = np.r_[np.bincount(var, weights=p.col_cost[flat], minlength=k), [w] if n_bal else []]
    x0 = None
    if start is not None:
        key = {(b, c.tobytes()): i for i, (b, c) in enumerate(zip(owner, members, strict=True))}
        x0 = np.zeros(a.shape[1])
        for b in st.pattern_bins:
            cols = np.sort(start[p.col_bin[start] == b])
            if cols.size:
                i = key.get((int(b), cols.tobytes()))
                if i is None:
                    x0 = None
                    break
                x0[i] = 1.0
        if x0 is not None:
            for j in start[np.isin(start, st.free_cols)]:
                i = key.get((-1, np.array([j]).tobytes()))
                if i is not None:
                    x0[i] = 1.0
            if n_bal:
                x0[-1] = float(np.asarray(p.use[st.balanced][:, start].sum(axis=1)).max())
    r = solve_arrays(
        cost=cost,
        a=a,
        row_lower=np.r_[np.ones(n_items), np.full(n_rows - n_items, -np.inf)],
        row_upper=np.r_[np.ones(n_items), np.ones(n_pb + n_sh), np.zeros(n_bal)],
        col_lower=np.zeros(a.shape[1]),
        col_upper=np.r_[np.ones(k), [np.inf] if n_bal else []],
        integer=np.r_[np.ones(k, dtype=bool), [False] if n_bal else []],
        options=options,
        start=x0,
    )
    if r.x is None:
        return None
    chosen = np.flatnonzero(np.asarray(r.x[:k]) > 0.5)
    cols = np.concatenate([members[i] for i in chosen]) if chosen.size else np.zeros(0, int)
    if cols.size != n_items or np.unique(p.col_item[cols]).size != n_items:
        return None
    plan = np.empty(n_items, dtype=np.int64)
    plan[p.col_item[cols]] = cols
    return plan


def survivors(p: Problem, res: PatternBound, incumbent: float) -> np.ndarray:
    """Columns that can be in a plan better than ``incumbent``: in some interval whose bound
    is below it, with reduced cost ≤ incumbent − that interval's bound."""
    st = res.structure if res.structure is not None else Structure.of(p)
    keep = np.zeros(p.n_columns, dtype=bool)
    for iv in res.intervals:
        gap = incumbent - max(iv.bound, res.floor)
        if gap <= _TOL * max(1.0, abs(incumbent)):
            continue
        allowed = st.col_bal_load <= iv.hi * (1.0 + FEAS_TOL) + TINY
        if iv.pi is None or iv.price is None:
            keep |= allowed
            continue
        rc = p.col_cost - iv.pi[p.col_item] + st.price_use.T @ iv.price
        # free columns: the item's least free rc entered L, so rc minus that must fit the gap
        slack = rc.copy()
        if st.free_cols.size:
            f = st.free_cols
            least = np.zeros(p.n_items)
            np.minimum.at(least, p.col_item[f], rc[f])
            slack[f] = rc[f] - least[p.col_item[f]]
        keep |= allowed & (slack <= gap * (1 + RC_FIX_RTOL) + RC_FIX_ATOL)
    return keep
