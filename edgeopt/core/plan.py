"""The plan state every constructive planner walks: running loads of a partial
assignment, what still fits, and what each column would cost (ΔZ) if added.

One engine under greedy, random construction, local search, LNS, the baselines,
the MILP warm start and the RL environment, so "fits" means the evaluator's
test everywhere (:func:`~edgeopt.core.evaluate.over_capacity`).

:class:`PlanState` holds one problem's loads and assignment; ``add``/``remove``
update only the resources the column uses. With ``track=True`` it also keeps,
per column, how many resources it would overflow (``n_over``) and, per open
item, its best and second-best fitting ΔZ (the regret), recomputing only the
items whose columns the last change touched.
"""

from __future__ import annotations

import copy

import numba as nb
import numpy as np
import scipy.sparse as sp

from edgeopt.core.evaluate import over_capacity
from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import CAPACITY_LIMIT

__all__ = ["PlanState", "segment_min", "ranges"]

#: The per-state arrays tracking keeps (besides ``load`` and ``assignment``), copied by
#: :meth:`PlanState.clone`.
_TRACKED = ("overflow_count", "open", "best", "best_col", "second", "second_col", "_mark")


def segment_min(values: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Min of each segment ``values[ptr[i]:ptr[i+1]]``; inf for empty segments."""
    out = np.full(ptr.size - 1, np.inf)
    nonempty = ptr[1:] > ptr[:-1]
    if values.size and nonempty.any():
        out[nonempty] = np.minimum.reduceat(values, ptr[:-1][nonempty])
    return out


def ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(lo[k], hi[k])`` over k, without a Python loop."""
    lens = hi - lo
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
    return starts + np.arange(total, dtype=np.int64)


def _first_min(dz: np.ndarray, seg: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per segment: the min of ``dz`` and the position of the first entry reaching it (-1: none finite)."""
    best = segment_min(dz, seg)
    hit = np.flatnonzero((dz == best[owner]) & np.isfinite(dz))
    first = np.full(seg.size - 1, -1, dtype=np.int64)
    first[owner[hit[::-1]]] = hit[::-1]
    return best, first


def _static(problem: Problem) -> dict:
    """The problem's column-major use arrays (and, filled in on first need, its per-column
    balanced use and row-major copy), built once per problem and shared read-only by every
    plan state over it: a regret greedy's passes and restarts pay for them once."""
    st = problem.__dict__.get("_plan_static")
    if st is None:
        use = sp.csc_array(problem.use)
        use.sort_indices()
        st = {
            "indptr": np.asarray(use.indptr, dtype=np.int64),
            "rows": np.asarray(use.indices, dtype=np.int64),
            "vals": np.asarray(use.data, dtype=np.float64),
        }
        problem.__dict__["_plan_static"] = st
    return st


@nb.njit(cache=True)
def _count_over(indptr, rows, vals, load, cap, limit):
    """Per column: how many of its resources it would push over capacity at ``load``."""
    n = indptr.size - 1
    out = np.zeros(n, np.int64)
    for j in range(n):
        c = 0
        for k in range(indptr[j], indptr[j + 1]):
            r = rows[k]
            if (load[r] + vals[k]) / cap[r] > limit:
                c += 1
        out[j] = c
    return out


@nb.njit(cache=True)
def _balanced_use_kernel(indptr, rows, vals, balanced):
    """Per column its balanced resource and amount (-1 / 0: none); and whether every column
    uses at most one balanced resource."""
    n = indptr.size - 1
    row = np.full(n, -1, np.int64)
    amt = np.zeros(n)
    single = True
    for j in range(n):
        for k in range(indptr[j], indptr[j + 1]):
            r = rows[k]
            if balanced[r]:
                if row[j] >= 0:
                    single = False
                row[j] = r
                amt[j] = vals[k]
    return single, row, amt


@nb.njit(cache=True)
def _score_kernel(
    items,
    item_ptr,
    cost,
    bias,
    n_over,
    bal_row,
    bal_amt,
    load,
    u,
    w_u,
    out_b,
    out_bc,
    out_s,
    out_sc,
):
    """Per item: the least and second-least ΔZ (+ bias) over its fitting columns and the first
    column reaching each, columns using at most one balanced resource (one pass, no temporaries).
    """
    has_bias = bias.size > 0
    for q in range(items.size):
        i = items[q]
        b1 = np.inf
        b2 = np.inf
        c1 = -1
        c2 = -1
        for j in range(item_ptr[i], item_ptr[i + 1]):
            if n_over[j] != 0:
                continue
            dz = cost[j]
            if w_u != 0.0 and bal_row[j] >= 0:
                rise = load[bal_row[j]] + bal_amt[j] - u
                if rise > 0.0:
                    dz += w_u * rise
            if has_bias:
                dz += bias[j]
            if dz < b1:
                b2, c2 = b1, c1
                b1, c1 = dz, j
            elif dz < b2:
                b2, c2 = dz, j
        out_b[i], out_bc[i], out_s[i], out_sc[i] = b1, c1, b2, c2


class PlanState:
    """Loads and assignment of a partial plan over ``problem``.

    Attributes
    ----------
    problem : the problem planned
    load : float array (n_resources,), fixed loads included
    assignment : int array (n_items,), -1 for an open item
    cost : float, Σ c_j over assigned columns
    capacity, column_cost : the problem's capacities and column costs (float64)
    balance_weight : w_U (0 when no resource is balanced)
    balanced_rows : the balanced resources
    open, best, best_col, second, second_col, overflow_count : with ``track=True`` only, per
        item whether it is open and its least and second-least fitting ΔZ with their columns,
        and per column how many resources it would overflow at the current loads

    Examples
    --------
    >>> p = Problem.from_columns(name="t", item_ids=["a", "b"], bin_ids=["x", "y"],
    ...     option_ids=["o"], resource_ids=["x", "y"], col_item=[0, 0, 1, 1],
    ...     col_bin=[0, 1, 0, 1], col_option=[0, 0, 0, 0], col_cost=[1.0, 2.0, 1.0, 3.0],
    ...     use_rows=[0, 1, 0, 1], use_cols=[0, 1, 2, 3], use_vals=[0.6, 0.6, 0.6, 0.6],
    ...     capacity=[1.0, 1.0], balanced=[True, True], balance_weight=1.0)
    >>> st = PlanState(p)
    >>> st.add(0); st.fits(np.arange(4)).tolist()
    [False, True, False, True]
    >>> round(st.z(), 6), st.delta_z(np.array([3])).round(6).tolist()
    (1.6, [3.0])

    With ``track=True`` it keeps the regret greedy's view of every open item:

    >>> st = PlanState(p, track=True)
    >>> st.best_col.tolist(), st.regret().tolist()
    ([0, 2], [1.0, 2.0])
    """

    def __init__(
        self,
        problem: Problem,
        assignment: np.ndarray | None = None,
        *,
        track: bool = False,
        bias: np.ndarray | None = None,
        load: np.ndarray | None = None,
        buffer: np.ndarray | None = None,
    ):
        """``load``: loads already there before any column (e.g. the fixed part of an LNS
        sub-problem); U and Z count them. ``buffer``: an array of ``n_resources`` floats the
        state keeps its loads in, in place (e.g. its rows of a :class:`~edgeopt.core.batch.PlanBatch`'s
        loads); it is overwritten with the starting loads."""
        self.problem = problem
        static = _static(problem)
        self._static = static
        self._col_ptr, self._col_rows, self._col_vals = (
            static["indptr"],
            static["rows"],
            static["vals"],
        )
        self.capacity = problem.capacity.astype(np.float64)
        self.column_cost = problem.col_cost
        self.balance_weight = float(problem.balance_weight) if problem.balanced.any() else 0.0
        self.balanced_rows = np.flatnonzero(problem.balanced)
        base = np.zeros(problem.n_resources) if load is None else np.asarray(load, np.float64)
        self.load = base.copy()
        self.assignment = np.full(problem.n_items, -1, dtype=np.int64)
        self.cost = 0.0
        self._balanced_use(problem)
        self.track = False
        #: Static per-column addition to ΔZ when tracking items' best columns (a heuristic's
        #: tie-breaker; None: plain ΔZ).
        self.bias = bias
        if assignment is not None:
            a = np.asarray(assignment, dtype=np.int64).reshape(-1)
            on = a >= 0
            self.assignment[on] = a[on]
            self.load = base + np.asarray(
                problem.use @ np.bincount(a[on], minlength=problem.n_columns), dtype=np.float64
            )
            self.cost = float(self.column_cost[a[on]].sum())
        if buffer is not None:
            buffer[:] = self.load
            self.load = buffer
        if track:
            self._start_tracking()

    def clone(self, buffer: np.ndarray | None = None) -> PlanState:
        """An independent copy of this state (same problem, loads, assignment and tracking),
        its loads kept in ``buffer`` (overwritten) when given; static per-problem arrays are
        shared read-only."""
        new = copy.copy(self)
        new.capacity = self.capacity.copy()
        new.assignment = self.assignment.copy()
        if buffer is not None:
            buffer[:] = self.load
            new.load = buffer
        else:
            new.load = self.load.copy()
        if self.track:
            for name in _TRACKED:
                setattr(new, name, getattr(self, name).copy())
        return new

    # ------------------------------------------------------------ balanced use
    def _balanced_use(self, p: Problem) -> None:
        """Per column its balanced resource and amount, when each column uses at most one
        (every compiled scenario); otherwise :meth:`balanced_load_after` walks the columns."""
        st = self._static
        if "single_bal" not in st:
            single, col_bal_row, col_bal_amt = _balanced_use_kernel(
                self._col_ptr,
                self._col_rows,
                self._col_vals,
                np.asarray(p.balanced, dtype=np.bool_),
            )
            single = bool(single)
            if not single:
                col_bal_row[:] = -1
                col_bal_amt[:] = 0.0
            st["single_bal"], st["col_bal_row"], st["col_bal_amt"] = (
                single,
                col_bal_row,
                col_bal_amt,
            )
            # one gather and one add per column in balanced_load_after: no balanced use reads row 0 + -inf
            st["bal_row_safe"] = np.maximum(col_bal_row, 0)
            st["bal_amt_ext"] = np.where(col_bal_row >= 0, col_bal_amt, -np.inf)
        self._single_balanced = st["single_bal"]
        self._balanced_row, self._balanced_amount = st["col_bal_row"], st["col_bal_amt"]
        self._balanced_row_safe, self._balanced_amount_ext = st["bal_row_safe"], st["bal_amt_ext"]

    @property
    def single_balanced(self) -> bool:
        """Whether every column uses at most one balanced resource (every compiled scenario)."""
        return bool(self._single_balanced)

    def balanced_row(self, cols: np.ndarray) -> np.ndarray:
        """Per column its balanced resource, -1 when it uses none — or -1 everywhere when some
        column uses several (then no column has a single one to name)."""
        return self._balanced_row[cols]

    def balance_spread(self, load: np.ndarray | None = None) -> float:
        """Σ of squared balanced loads: among plans of equal Z, the smaller the more even."""
        load = self.load if load is None else load
        return float((load[self.balanced_rows] ** 2).sum()) if self.balanced_rows.size else 0.0

    def balance_spread_after(self, cols: np.ndarray, load: np.ndarray | None = None) -> np.ndarray:
        """Per column: :meth:`balance_spread` if it were added to ``load`` (default: the state's)."""
        load = self.load if load is None else load
        if self.balanced_rows.size == 0:
            return np.zeros(cols.size)
        base = self.balance_spread(load)
        r = self._balanced_row[cols]
        has = r >= 0
        cur = load[np.maximum(r, 0)]
        new = cur + self._balanced_amount[cols]
        return base + np.where(has, new * new - cur * cur, 0.0)

    def u(self) -> float:
        """U: the largest balanced load (0 with none)."""
        if self.balanced_rows.size == 0:
            return 0.0
        return max(float(self.load[self.balanced_rows].max()), 0.0)

    def z(self) -> float:
        """Z of the current (partial) plan."""
        return self.cost + self.balance_weight * self.u()

    def balanced_load_after(self, cols: np.ndarray, load: np.ndarray | None = None) -> np.ndarray:
        """Per column: its balanced resource's load if it were added (-inf when it uses none)."""
        load = self.load if load is None else load
        if self._single_balanced:
            if load.size == 0:
                return np.full(cols.size, -np.inf)
            return load[self._balanced_row_safe[cols]] + self._balanced_amount_ext[cols]
        out = np.full(cols.size, -np.inf)
        for k, j in enumerate(cols.tolist()):  # general form: rare (no compiled scenario has it)
            lo, hi = self._col_ptr[j], self._col_ptr[j + 1]
            r = self._col_rows[lo:hi]
            m = self.problem.balanced[r]
            if m.any():
                out[k] = float((load[r[m]] + self._col_vals[lo:hi][m]).max())
        return out

    def delta_z(
        self, cols: np.ndarray, *, u: float | None = None, load: np.ndarray | None = None
    ) -> np.ndarray:
        """ΔZ of adding each column to the current loads: c_j + w_U·(max(U, u_after) − U)."""
        if self.balance_weight == 0.0:
            return self.column_cost[cols].copy()
        u = self.u() if u is None else u
        dz = self.balanced_load_after(cols, load)
        dz -= u
        np.maximum(dz, 0.0, out=dz)
        dz *= self.balance_weight
        dz += self.column_cost[cols]
        return dz

    # ------------------------------------------------------------------ fits
    def fits(self, cols: np.ndarray, load: np.ndarray | None = None) -> np.ndarray:
        """Whether adding each column keeps every resource it uses within capacity."""
        load = self.load if load is None else load
        cols = np.asarray(cols, dtype=np.int64)
        lo, hi = self._col_ptr[cols], self._col_ptr[cols + 1]
        e = ranges(lo, hi)
        r = self._col_rows[e]
        over = over_capacity(load[r] + self._col_vals[e], self.capacity[r])
        owner = np.repeat(np.arange(cols.size), hi - lo)
        return np.bincount(owner[over], minlength=cols.size) == 0

    def fits_range(self, lo: int, hi: int, load: np.ndarray | None = None) -> np.ndarray:
        """:meth:`fits` for the contiguous columns ``lo..hi-1`` (one item's columns)."""
        load = self.load if load is None else load
        a, b = self._col_ptr[lo], self._col_ptr[hi]
        r = self._col_rows[a:b]
        over = over_capacity(load[r] + self._col_vals[a:b], self.capacity[r])
        owner = np.repeat(np.arange(hi - lo), np.diff(self._col_ptr[lo : hi + 1]))
        return np.bincount(owner[over], minlength=hi - lo) == 0

    def exchanges(
        self, add_a: np.ndarray, add_b: np.ndarray, drop_a: np.ndarray, drop_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per k, the plan with columns ``add_a[k]`` and ``add_b[k]`` in place of ``drop_a[k]``
        and ``drop_b[k]`` (two items exchanging bins): whether it fits, its Z and its
        :meth:`balance_spread`. Work grows with the columns' nonzeros and the balanced rows,
        not with every resource."""
        use = self.problem.use
        n = add_a.size
        delta = sp.csc_array(use[:, add_a] + use[:, add_b] - use[:, drop_a] - use[:, drop_b])
        rows = np.asarray(delta.indices, dtype=np.int64)
        owner = np.repeat(np.arange(n), np.diff(delta.indptr))
        base_over = over_capacity(self.load, self.capacity)
        new_over = over_capacity(self.load[rows] + delta.data, self.capacity[rows])
        still_over = int(base_over.sum()) - np.bincount(owner[base_over[rows]], minlength=n)
        fits = (still_over == 0) & (np.bincount(owner[new_over], minlength=n) == 0)
        cc = self.column_cost
        z = self.cost + cc[add_a] + cc[add_b] - cc[drop_a] - cc[drop_b]
        if self.balanced_rows.size:
            bal = self.load[self.balanced_rows][:, None] + delta[self.balanced_rows, :].toarray()
            z = z + self.balance_weight * np.maximum(bal.max(axis=0), 0.0)
            spread = (bal * bal).sum(axis=0)
        else:
            spread = np.zeros(n)
        return fits, z, spread

    def column_use(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self._col_ptr[j], self._col_ptr[j + 1]
        return self._col_rows[lo:hi], self._col_vals[lo:hi]

    def load_without(self, i: int) -> np.ndarray:
        """A copy of the loads with item ``i``'s current column taken out."""
        load = self.load.copy()
        j = int(self.assignment[i])
        if j >= 0:
            r, v = self.column_use(j)
            load[r] -= v
        return load

    def moves(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Item ``i``'s columns, whether each fits, and Z if ``i`` moved to it (exact)."""
        lo, hi = int(self.problem.item_ptr[i]), int(self.problem.item_ptr[i + 1])
        cols = np.arange(lo, hi, dtype=np.int64)
        cur = int(self.assignment[i])
        load = self.load_without(i)
        ok = self.fits_range(lo, hi, load)
        cost = self.cost - (self.column_cost[cur] if cur >= 0 else 0.0) + self.column_cost[cols]
        if self.balance_weight:
            u0 = max(float(load[self.balanced_rows].max()), 0.0)
            z = cost + self.balance_weight * np.maximum(self.balanced_load_after(cols, load), u0)
        else:
            z = cost
        return cols, ok, z

    # ----------------------------------------------------------- add / remove
    def add(self, j: int) -> None:
        """Assign column ``j`` to its item (which must be open)."""
        i = int(self.problem.col_item[j])
        if self.assignment[i] >= 0:
            raise ValueError(f"item {self.problem.item_ids[i]} is already assigned")
        r, v = self.column_use(j)
        if self.track:
            moved = self._update(r, +v, j)
        else:
            self.load[r] += v
        self.assignment[i] = j
        self.cost += float(self.column_cost[j])
        if self.track:
            self.open[i] = False
            self._refresh_after(moved)

    def remove(self, i: int) -> int:
        """Unassign item ``i``; returns the column it had."""
        j = int(self.assignment[i])
        if j < 0:
            raise ValueError(f"item {self.problem.item_ids[i]} is not assigned")
        r, v = self.column_use(j)
        if self.track:
            moved = self._update(r, -v, j)
        else:
            self.load[r] -= v
        self.assignment[i] = -1
        self.cost -= float(self.column_cost[j])
        if self.track:
            self.open[i] = True
            self._refresh_after(moved, extra_items=np.array([i]))
        return j

    def move(self, i: int, j: int) -> None:
        """Give item ``i`` column ``j`` instead of its current one."""
        if self.assignment[i] >= 0:
            self.remove(i)
        self.add(j)

    # -------------------------------------------------- tracking for greedy
    def _start_tracking(self) -> None:
        p = self.problem
        self.track = True
        st = self._static
        if "r_ptr" not in st:
            csr = sp.csr_array(
                sp.csc_array((self._col_vals, self._col_rows, self._col_ptr), shape=p.use.shape)
            )
            csr.sort_indices()
            st["r_ptr"], st["r_col"], st["r_val"] = (
                csr.indptr.astype(np.int64, copy=False),
                csr.indices.astype(np.int64, copy=False),
                csr.data,
            )
            r_max = np.zeros(p.n_resources)  # the largest use on each row
            has = np.diff(st["r_ptr"]) > 0
            if has.any():
                r_max[has] = np.maximum.reduceat(st["r_val"], st["r_ptr"][:-1][has])
            st["r_max"] = r_max
        self._row_ptr, self._row_cols, self._row_vals, self._row_max = (
            st["r_ptr"],
            st["r_col"],
            st["r_val"],
            st["r_max"],
        )
        self.overflow_count = _count_over(
            self._col_ptr, self._col_rows, self._col_vals, self.load, self.capacity, CAPACITY_LIMIT
        )
        self.open = self.assignment < 0
        self.best = np.full(p.n_items, np.inf)
        self.best_col = np.full(p.n_items, -1, dtype=np.int64)
        self.second = np.full(p.n_items, np.inf)
        self.second_col = np.full(p.n_items, -1, dtype=np.int64)
        self._mark = np.zeros(p.n_columns + 1, dtype=bool)
        self._bias_arr = (
            np.zeros(0) if self.bias is None else np.asarray(self.bias, dtype=np.float64)
        )
        self._u_seen = self.u()
        self._score(np.flatnonzero(self.open))

    def _update(self, r: np.ndarray, dv: np.ndarray, j: int) -> np.ndarray:
        """Change loads on rows ``r`` by ``dv``, keep ``n_over`` exact for every column using
        them, and return the columns whose ΔZ or fit may have moved: those whose fit flipped,
        and every column of a balanced row (its ΔZ follows the row's load)."""
        moved = []
        for row, d in zip(r.tolist(), dv.tolist()):
            a, b = self._row_ptr[row], self._row_ptr[row + 1]
            cols = self._row_cols[a:b]
            high = max(self.load[row], self.load[row] + d)
            if not over_capacity(high + self._row_max[row], self.capacity[row]):
                self.load[row] += d  # even the largest use fits at the higher load: no fit flips
            else:
                amt = self._row_vals[a:b]
                before = over_capacity(self.load[row] + amt, self.capacity[row])
                self.load[row] += d
                after = over_capacity(self.load[row] + amt, self.capacity[row])
                changed = before != after
                if changed.any():
                    self.overflow_count[cols[changed]] += np.where(after[changed], 1, -1)
                    moved.append(cols[changed])
            if self.balance_weight and self.problem.balanced[row]:
                moved.append(cols)
        return np.concatenate(moved) if moved else np.zeros(0, dtype=np.int64)

    def _refresh_after(self, cols: np.ndarray, extra_items: np.ndarray | None = None) -> None:
        """Re-score the open items whose best or second-best ΔZ the moved columns ``cols`` may
        have changed.

        After an add, those columns only got dearer (or stopped fitting), so only items
        whose best or second-best column is among them can change; when U rose, ΔZ fell
        for every column above the old level, and after a remove loads fell: those items
        are re-scored in full.
        """
        p = self.problem
        if extra_items is None:  # an add: values only rose on ``cols``
            mark = self._mark  # all False between calls (index -1 is a spare entry)
            mark[cols] = True
            items = np.flatnonzero(self.open & (mark[self.best_col] | mark[self.second_col]))
            mark[cols] = False
        else:
            items = np.union1d(np.unique(p.col_item[cols]), extra_items)
        u = self.u()
        if self.balance_weight and u != self._u_seen:
            items = np.union1d(items, self._after_u_change(u))
            self._u_seen = u
        self._score(items[self.open[items]])

    def _after_u_change(self, u: float) -> np.ndarray:
        """Bring every open item's best / second-best up to date for U moving to ``u``;
        returns the items that need a full re-score.

        ΔZ = c + w·max(b − U, 0). When U rises by δ, every column with b above the new U
        gets exactly w·δ cheaper and no other column gets cheaper by more, so an item
        whose best and second-best columns both stay above U keeps them (values − w·δ).
        Any other item, and every item when U falls, is re-scored.
        """
        open_items = np.flatnonzero(self.open)
        if u < self._u_seen:
            return open_items
        bc, sc = self.best_col[open_items], self.second_col[open_items]
        above_b = (bc < 0) | (self.balanced_load_after(np.maximum(bc, 0)) > u)
        above_s = (sc < 0) | (self.balanced_load_after(np.maximum(sc, 0)) > u)
        keep = above_b & above_s
        shift = self.balance_weight * (u - self._u_seen)
        kept = open_items[keep]
        self.best[kept] -= np.where(self.best_col[kept] >= 0, shift, 0.0)
        self.second[kept] -= np.where(self.second_col[kept] >= 0, shift, 0.0)
        return open_items[~keep]

    def _score(self, items: np.ndarray) -> None:
        """Best column, best and second-best ΔZ over the fitting columns of ``items``."""
        if items.size == 0:
            return
        if self._single_balanced:  # every compiled scenario: one compiled loop over the columns
            _score_kernel(
                np.asarray(items, dtype=np.int64),
                self.problem.item_ptr,
                self.column_cost,
                self._bias_arr,
                self.overflow_count,
                self._balanced_row,
                self._balanced_amount,
                self.load,
                self.u() if self.balance_weight else 0.0,
                self.balance_weight,
                self.best,
                self.best_col,
                self.second,
                self.second_col,
            )
            return
        ptr = self.problem.item_ptr
        lo, hi = ptr[items], ptr[items + 1]
        cols = ranges(lo, hi)
        if cols.size == 0:  # items without columns: nothing fits
            self.best[items] = self.second[items] = np.inf
            self.best_col[items] = self.second_col[items] = -1
            return
        seg = np.concatenate(([0], np.cumsum(hi - lo)))
        dz = self.delta_z(cols)
        if self.bias is not None:
            dz += self.bias[cols]
        dz[self.overflow_count[cols] != 0] = np.inf
        owner = np.repeat(np.arange(items.size), hi - lo)
        best, pos = _first_min(dz, seg, owner)
        self.best[items], self.best_col[items] = (
            best,
            np.where(pos >= 0, cols[np.maximum(pos, 0)], -1),
        )
        dz[pos[pos >= 0]] = np.inf
        second, pos2 = _first_min(dz, seg, owner)
        self.second[items], self.second_col[items] = (
            second,
            np.where(pos2 >= 0, cols[np.maximum(pos2, 0)], -1),
        )

    def regret(self) -> np.ndarray:
        """Per item: second-best − best ΔZ over fitting columns (inf when one fits; -inf for assigned)."""
        with np.errstate(invalid="ignore"):
            r = np.where(np.isfinite(self.second), self.second - self.best, np.inf)
        return np.where(self.open, r, -np.inf)
