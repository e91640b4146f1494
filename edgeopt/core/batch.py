"""Many plan states stepped together: planning as a Markov decision process (docs/model.md §5).

:class:`PlanBatch` is the plan-state engine the learned planner walks, batched
over problems (or over N sampled plans of one problem). It adds nothing to
:class:`~edgeopt.core.plan.PlanState` but the batch: every problem's loads live
in one concatenated array that its :class:`PlanState` updates in place, so
"fits", ΔZ, U and the regret rule are the engine's own, exactly as for greedy,
local search and LNS. What the policy *sees* of a batch (features, merged
choices) is :mod:`edgeopt.policy.features`; the Gymnasium adapter is
:mod:`edgeopt.rl.env`.

The process, for one problem
----------------------------
Step ``t`` assigns one open item; *which* item is chosen by the engine from
the current loads (:data:`ITEM_RULES`). The default, ``"regret"``, is the rule
of the ``greedy`` heuristic: among the open items, the one whose best and
second-best fitting columns differ most in ΔZ (cost plus bottleneck rise), an
item with a single fitting column first, an item with none before that (the
episode then gets stuck at once); ties by item index. ``"fixed"`` is the
static order of :func:`item_order` (decreasing mean normalised size, as in
first-fit decreasing). ``current_item()`` names the item being asked about.

Action
    The index of one of the current item's columns (``candidates()``), allowed
    when :meth:`PlanBatch.fit_mask` is true: adding it keeps every resource
    within capacity (the evaluator's test).
Finish
    After the last item, or as soon as the current item has no fitting column
    or an action outside the mask is taken (stuck, with the penalty below).
Reward
    ``-(c_j + w_U * (U_after - U_before))`` for the chosen column ``j``, so a
    complete episode returns exactly ``-Z`` of the plan. Getting stuck adds
    ``-penalty``: the sum of the most expensive column of every item not yet
    assigned, plus ``w_U`` times the largest balanced capacity, plus
    ``STUCK_PENALTY * scale`` per such item — more than any completion could
    cost, so a stuck episode always returns less than any complete one.
    ``scale`` (:func:`cost_scale`) is the problem's mean per-item cost spread;
    trainers divide rewards by it so problems of any unit look alike.

Rows of a batch over one problem can be copied onto others (:meth:`PlanBatch.copy_rows`):
the step of beam search (:func:`edgeopt.policy.decode.beam_search`), which branches one
partial plan into several.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba as nb
import numpy as np

from edgeopt.core.plan import PlanState
from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import TINY

__all__ = ["PlanBatch", "ITEM_RULES", "STUCK_PENALTY", "cost_scale", "item_order"]

#: How the engine picks the next item (see the module docstring).
ITEM_RULES = ("regret", "fixed")
#: Stuck penalty per unassigned item, in units of the problem's cost scale.
STUCK_PENALTY = 2.0


def cost_scale(problem: Problem) -> float:
    """Mean over items of (max − min column cost); mean |c| or 1 when that is zero."""
    ptr = problem.item_ptr
    nonempty = ptr[1:] > ptr[:-1]
    if not nonempty.any():
        return 1.0
    starts = ptr[:-1][nonempty]
    c = problem.col_cost
    spread = float(np.mean(np.maximum.reduceat(c, starts) - np.minimum.reduceat(c, starts)))
    if spread > TINY:
        return spread
    m = float(np.mean(np.abs(c))) if c.size else 0.0
    return m if m > TINY else 1.0


def _max_share(problem: Problem) -> np.ndarray:
    """Per column: max_l a_jl / cap_l (0 for a column that uses nothing)."""
    use = problem.use
    share = use.data / problem.capacity[use.indices]
    out = np.zeros(problem.n_columns)
    counts = np.diff(use.indptr)
    has = counts > 0
    if share.size:
        out[has] = np.maximum.reduceat(share, use.indptr[:-1][has])
    return out


def item_order(problem: Problem) -> np.ndarray:
    """Items by decreasing mean over their columns of max_l a_jl / cap_l (ties: lower index first)."""
    share = _max_share(problem)
    counts = np.diff(problem.item_ptr)
    size = np.bincount(problem.col_item, weights=share, minlength=problem.n_items) / np.maximum(
        counts, 1
    )
    return np.lexsort((np.arange(problem.n_items), -size)).astype(np.int64)


def _tile(a: np.ndarray, n: int) -> np.ndarray:
    """``n`` copies of ``a`` one after the other along axis 0 (a new array)."""
    return np.broadcast_to(a[None], (n, *a.shape)).reshape((-1, *a.shape[1:]))


def _static_rank(problem: Problem) -> np.ndarray:
    """Per item its rank in :func:`item_order` (cached on the problem)."""
    rank = problem.__dict__.get("_batch_rank")
    if rank is None:
        rank = np.empty(problem.n_items, dtype=np.int64)
        rank[item_order(problem)] = np.arange(problem.n_items)
        problem.__dict__["_batch_rank"] = rank
    return rank


@nb.njit(cache=True)
def _padded_use_kernel(indptr, indices, data, cols, R, pad):  # pragma: no cover - compiled
    """:func:`_padded_use` of the columns ``cols``: copies, entry by entry."""
    m = cols.size
    loc = np.full((m, R), pad, np.int64)
    amt = np.zeros((m, R))
    for q in range(m):
        j = cols[q]
        lo = indptr[j]
        for k in range(indptr[j + 1] - lo):
            loc[q, k] = indices[lo + k]
            amt[q, k] = data[lo + k]
    return loc, amt


def _padded_use(
    problem: Problem, R: int, cols: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Columns' sparse use as ``R`` padded entries each, (n, R) local resource indices (padding:
    ``n_resources``) and amounts (padding: 0), in the use matrix's entry order: every column
    (``cols`` None) or the columns ``cols``."""
    use = problem.use
    if cols is not None:
        return _padded_use_kernel(
            use.indptr, use.indices, use.data, np.asarray(cols, np.int64), R, problem.n_resources
        )
    n = np.diff(use.indptr)
    e = np.arange(use.nnz, dtype=np.int64)
    m = problem.n_columns
    # entry k of column q goes to flat position q * R + k
    flat = np.arange(e.size, dtype=np.int64)
    flat += np.repeat(np.arange(m, dtype=np.int64) * R - (np.cumsum(n) - n), n)
    loc = np.full(m * R, problem.n_resources, dtype=np.int64)
    loc[flat] = use.indices[e]
    amt = np.zeros(m * R)
    amt[flat] = use.data[e]
    return loc.reshape(m, R), amt.reshape(m, R)


def _ell_static(problem: Problem, R: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_padded_use` of every column, cached on the problem for its latest ``R``, read-only."""
    cached = problem.__dict__.get("_batch_ell")
    if cached is None or cached[0] != R:
        loc, amt = _padded_use(problem, R)
        loc.setflags(write=False)
        amt.setflags(write=False)
        cached = problem.__dict__["_batch_ell"] = (R, loc, amt)
    return cached[1], cached[2]


def _batch_static(problem: Problem) -> dict:
    """What a :class:`PlanBatch` needs of one problem, in its local indices: computed once per
    problem object (cached on the problem), read-only, shared by every row of it."""
    cached = problem.__dict__.get("_batch_static")
    if cached is not None:
        return cached
    p = problem
    use = p.use
    counts = np.diff(use.indptr)
    n_cols_item = np.diff(p.item_ptr)
    ne = n_cols_item > 0
    item_max_cost = np.zeros(p.n_items)
    if ne.any():
        item_max_cost[ne] = np.maximum.reduceat(p.col_cost, p.item_ptr[:-1][ne])
    dem_res = np.asarray(use.indices, dtype=np.int64)
    dem_val = use.data / np.repeat(np.maximum(n_cols_item[p.col_item], 1), counts)
    ci = p.col_item
    if bool((ci[1:] >= ci[:-1]).all()):  # columns grouped by item: entries sorted already
        dem_ptr = use.indptr[np.searchsorted(p.col_item, np.arange(p.n_items + 1))]
    else:
        ent_item = np.repeat(p.col_item, counts)
        srt = np.argsort(ent_item, kind="stable")
        ent_item, dem_res, dem_val = ent_item[srt], dem_res[srt], dem_val[srt]
        dem_ptr = np.searchsorted(ent_item, np.arange(p.n_items + 1))
    demand = np.zeros(p.n_resources)
    np.add.at(demand, dem_res, dem_val)
    st = {
        "item_max_cost": item_max_cost,
        "dem_res": dem_res,
        "dem_val": dem_val,
        "dem_ptr": np.asarray(dem_ptr, dtype=np.int64),
        "demand": demand,
        "scale": cost_scale(p),
        "bal_cap_max": float(p.capacity[p.balanced].max()) if p.balanced.any() else 0.0,
    }
    for a in st.values():
        if isinstance(a, np.ndarray):
            a.setflags(write=False)
    problem.__dict__["_batch_static"] = st
    return st


class PlanBatch:
    """Many problems stepped together; all share the step counter ``t``.

    Problems are concatenated (items, resources and columns offset per
    problem); each column's sparse use is also held as R padded entries
    (``ell_idx``, ``ell_amt``) pointing at a dummy resource of infinite
    capacity where unused, for vectorised reads. Problem ``b``'s loads are
    ``load[res_off[b]:res_off[b+1]]``, the very array its plan state
    ``states[b]`` updates. Problem ``b`` is done after its last item or when
    stuck; later steps give it an empty mask and zero reward.

    :param problems: the problems (the same object may appear many times, e.g.
        for sampling several plans of one problem).
    :param pad_to: a step's candidates are padded to a multiple of this: (B, k) with k the
        widest current item's column count rounded up (at most :attr:`K`, the widest item).
    :param order: how the next item is chosen, a key of :data:`ITEM_RULES`.
    :param loads: per problem, loads present before any item is placed (None: empty), e.g.
        the fixed part of a large-neighbourhood search; rewards stay exact ΔZ.
    """

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        pad_to: int = 8,
        order: str = "regret",
        loads: Sequence[np.ndarray | None] | None = None,
    ):
        self.problems = list(problems)
        B = len(self.problems)
        if B == 0:
            raise ValueError("PlanBatch needs at least one problem")
        if order not in ITEM_RULES:
            raise ValueError(f"unknown item order {order!r}; expected one of {sorted(ITEM_RULES)}")
        self.order_rule = order
        self.B = B
        self.base_loads = list(loads) if loads is not None else [None] * B
        if len(self.base_loads) != B:
            raise ValueError("give one load array (or None) per problem")
        self.n_items = np.array([p.n_items for p in self.problems], dtype=np.int64)
        self.T = int(self.n_items.max())
        res_n = np.array([p.n_resources for p in self.problems], dtype=np.int64)
        col_n = np.array([p.n_columns for p in self.problems], dtype=np.int64)
        self.res_off = np.concatenate([[0], np.cumsum(res_n)]).astype(np.int64)
        self.col_off = np.concatenate([[0], np.cumsum(col_n)]).astype(np.int64)
        self.item_off = np.concatenate([[0], np.cumsum(self.n_items)]).astype(np.int64)
        n_res, n_col = int(self.res_off[-1]), int(self.col_off[-1])
        n_it = int(self.item_off[-1])
        self.dummy = n_res
        R = max(1, max(int(np.diff(p.use.indptr).max(initial=0)) for p in self.problems))
        # Everything per problem is computed once per distinct problem object and placed at
        # each of its rows' offsets (a batch of one problem repeated: once, then tiled).
        self._statics = [_batch_static(p) for p in self.problems]
        self.cap = np.concatenate([p.capacity for p in self.problems] + [[np.inf]])
        self.balanced = np.concatenate([p.balanced for p in self.problems] + [[False]])
        #: whether every row is the same problem object (its arrays are then tiled, not gathered)
        self._same = B > 1 and all(p is self.problems[0] for p in self.problems)
        if self._same:
            self.res_env = np.repeat(np.arange(B), int(res_n[0]))
            self.col_env = np.repeat(np.arange(B), int(col_n[0]))
            self.item_env = np.repeat(np.arange(B), int(self.n_items[0]))
        else:
            self.res_env = np.repeat(np.arange(B), res_n)
            self.col_env = np.repeat(np.arange(B), col_n)
            self.item_env = np.repeat(np.arange(B), self.n_items)
        self.cost = np.concatenate([p.col_cost for p in self.problems])
        self.w_u = np.array([p.balance_weight for p in self.problems])
        self.scale = np.array([s["scale"] for s in self._statics])
        self.bal_cap_max = np.array([s["bal_cap_max"] for s in self._statics])
        k_max = max(int(np.diff(p.item_ptr).max(initial=1)) for p in self.problems)
        self.K = int(-(-k_max // pad_to) * pad_to)
        self.pad_to = pad_to
        # Global item → column range, column → global item, (problem, local item) → global item.
        self.item_ptr = np.concatenate(
            [p.item_ptr[:-1] + self.col_off[b] for b, p in enumerate(self.problems)] + [[n_col]]
        ).astype(np.int64)
        self.col_item = self._rows_concat([p.col_item for p in self.problems], self.item_off)
        t_ar = np.arange(self.T)
        self.item_mat = np.where(
            t_ar[None, :] < self.n_items[:, None], self.item_off[:-1, None] + t_ar[None, :], -1
        ).astype(np.int64)
        self._fixed_rank: np.ndarray | None = None
        self.item_max_cost = self._rows_concat([s["item_max_cost"] for s in self._statics])
        self.R = R
        self._ell: tuple[np.ndarray, np.ndarray] | None = None
        # Expected demand of item i on resource l: its mean use over its columns (entries
        # grouped by item, each problem's in a block of its own).
        ent_n = np.array([s["dem_res"].size for s in self._statics], dtype=np.int64)
        ent_off = np.concatenate([[0], np.cumsum(ent_n)]).astype(np.int64)
        self.dem_res = self._rows_concat([s["dem_res"] for s in self._statics], self.res_off)
        self.dem_val = self._rows_concat([s["dem_val"] for s in self._statics])
        self.dem_ptr = np.concatenate(
            [s["dem_ptr"][:-1] + ent_off[b] for b, s in enumerate(self._statics)] + [[ent_off[-1]]]
        ).astype(np.int64)
        self._demand0 = np.concatenate([s["demand"] for s in self._statics] + [[0.0]])
        assert self.dem_ptr.size == n_it + 1
        # (problem, local resource) -> global resource (the dummy where padded)
        self.L = int(res_n.max(initial=1)) or 1
        loc_r = np.arange(self.L)
        self.res_mask = loc_r[None, :] < res_n[:, None]
        self.res_map = np.where(self.res_mask, self.res_off[:-1, None] + loc_r[None, :], self.dummy)
        self._uniform: bool | None = None
        self.reset()

    def _rows_concat(self, parts: list[np.ndarray], shift: np.ndarray | None = None) -> np.ndarray:
        """Per row its problem's array (``+ shift[b]`` when given), concatenated along axis 0:
        for a batch of one problem repeated, one broadcast instead of B pieces; for one row, a
        read-only view of the array itself."""
        if self.B > 1 and all(p is parts[0] for p in parts):
            a = parts[0]
            if shift is None:
                return _tile(a, self.B)
            return (a[None] + shift[:-1].reshape((-1,) + (1,) * a.ndim)).reshape(
                (-1,) + a.shape[1:]
            )
        if self.B == 1 and (shift is None or (shift[0] == 0 and parts[0].dtype == np.int64)):
            view = parts[0].view()  # one row: the problem's own array, read-only
            view.setflags(write=False)
            return view
        if shift is None:
            return np.concatenate(parts)
        return np.concatenate([a + shift[b] for b, a in enumerate(parts)])

    def _ell_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(:attr:`ell_idx`, :attr:`ell_amt`), built on first need."""
        if self._ell is None:
            B, R, n_res = self.B, self.R, int(self.res_off[-1])
            res_n = np.diff(self.res_off)
            col_n = np.diff(self.col_off)
            parts = [_ell_static(p, R) for p in self.problems]
            if B == 1:  # one row: the problem's arrays themselves
                self._ell = parts[0]
            elif self._same:
                loc0 = parts[0][0]
                idx = np.where(
                    (loc0 < res_n[0])[None], loc0[None] + self.res_off[:-1, None, None], n_res
                ).reshape(-1, R)
                self._ell = (idx, _tile(parts[0][1], B))
            else:
                loc = np.concatenate([a for a, _ in parts])
                real = loc < np.repeat(res_n, col_n)[:, None]
                idx = np.where(real, loc + np.repeat(self.res_off[:-1], col_n)[:, None], n_res)
                self._ell = (idx, np.concatenate([a for _, a in parts]))
        return self._ell

    @property
    def ell_idx(self) -> np.ndarray:
        """(n_columns, R): per column its resources (global), the dummy where padded."""
        return self._ell_arrays()[0]

    @property
    def ell_amt(self) -> np.ndarray:
        """(n_columns, R): per column its use of those resources, 0 where padded."""
        return self._ell_arrays()[1]

    def candidate_use(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ell_idx[c], ell_amt[c])`` for global columns ``c`` (B, k): for one row with the
        padded arrays not built, read off the use matrix for those columns only."""
        if self.B == 1 and self._ell is None:
            loc, amt = _padded_use(self.problems[0], self.R, c.reshape(-1))
            return loc.reshape(*c.shape, self.R), amt.reshape(*c.shape, self.R)
        idx, amt = self._ell_arrays()
        return idx[c], amt[c]

    @property
    def fixed_rank(self) -> np.ndarray:
        """Per global item its rank in :func:`item_order` (the ``"fixed"`` rule), made on first need."""
        if self._fixed_rank is None:
            self._fixed_rank = self._rows_concat([_static_rank(p) for p in self.problems]).astype(
                np.float64
            )
        return self._fixed_rank

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Back to the empty plan (the fixed loads only)."""
        self.t = 0
        self.load = np.zeros(self.cap.shape[0])
        self._state_rows: dict[str, np.ndarray] = {}
        # one plan state per distinct (problem, fixed loads); its other rows get copies
        first: dict[tuple[int, int], PlanState] = {}
        self.states = []
        for p, base, lo, hi in zip(
            self.problems, self.base_loads, self.res_off[:-1], self.res_off[1:]
        ):
            key = (id(p), id(base))
            st0 = first.get(key)
            if st0 is None:
                st = first[key] = PlanState(p, track=True, load=base, buffer=self.load[lo:hi])
            else:
                st = st0.clone(buffer=self.load[lo:hi])
            self.states.append(st)
        if self.B > 1 and self.is_uniform():  # the states' arrays as rows of one matrix each
            for name in self._STATE_ARRAYS:
                self._state_matrix(name)
        self.u = np.array([st.u() for st in self.states])
        self.done = self.n_items == 0
        self.stuck = np.zeros(self.B, dtype=bool)
        self.actions = np.full((self.B, self.T), -1, dtype=np.int64)
        self.chosen = np.full((self.B, self.T), -1, dtype=np.int64)
        self.items = np.full((self.B, self.T), -1, dtype=np.int64)  # local item asked at each step
        self.open = np.ones(int(self.item_off[-1]), dtype=bool)  # not yet asked about
        self.rest_cost: np.ndarray = np.bincount(
            self.item_env, weights=self.item_max_cost, minlength=self.B
        ).astype(np.float64)
        self.demand = self._demand0.copy()
        self._select()

    def _select(self) -> None:
        """Choose each active problem's next item (``ITEM_RULES``) from its plan state and take it
        out of the later demand."""
        B, K = self.B, self.K
        cur = np.full(B, -1, dtype=np.int64)
        rows_on = np.flatnonzero(~self.done)
        if B > 1 and self.is_uniform():  # the rows' plan states as matrices: all rows at once
            n = int(self.n_items[0])
            if self.order_rule == "fixed":
                score = -self.fixed_rank[:n][None, :]
            else:
                best = self._state_matrix("best")[rows_on]
                second = self._state_matrix("second")[rows_on]
                with np.errstate(invalid="ignore"):
                    score = np.where(
                        ~np.isfinite(best),
                        np.inf,
                        np.where(np.isfinite(second), second - best, 1e300),
                    )
            is_open = self._state_matrix("open")[rows_on]
            if rows_on.size:
                cur[rows_on] = self.item_off[rows_on] + np.argmax(
                    np.where(is_open, score, -np.inf), axis=1
                )
            rows_on = rows_on[:0]
        for b in rows_on:
            st = self.states[b]
            if self.order_rule == "fixed":
                score = -self.fixed_rank[self.item_off[b] : self.item_off[b + 1]]
            else:
                score = self.item_regret(int(b))
            i = int(np.argmax(np.where(st.open, score, -np.inf)))
            cur[b] = self.item_off[b] + i
        self.cur = cur
        rows = np.flatnonzero(cur >= 0)
        g = cur[rows]
        self.open[g] = False
        if self.t < self.T:
            self.items[rows, self.t] = g - self.item_off[rows]
        for i in g:  # few entries per item: remove its expected demand
            a, b = self.dem_ptr[i], self.dem_ptr[i + 1]
            np.add.at(self.demand, self.dem_res[a:b], -self.dem_val[a:b])
        lo = np.where(cur >= 0, self.item_ptr[np.maximum(cur, 0)], 0)
        hi = np.where(cur >= 0, self.item_ptr[np.maximum(cur, 0) + 1], 0)
        # this step's width: the widest current item, rounded up to ``pad_to`` (at most K)
        n = int((hi - lo).max(initial=0))
        self.k_step = min(K, max(self.pad_to, -(-n // self.pad_to) * self.pad_to))
        k = np.arange(self.k_step)
        self.cur_cand = np.where(k[None, :] < (hi - lo)[:, None], lo[:, None] + k[None, :], -1)
        self._mask: np.ndarray | None = None

    # ------------------------------------------------------------- row copy
    #: The :class:`PlanState` arrays a step mutates (in place), copied by :meth:`copy_rows`.
    _STATE_ARRAYS = (
        "assignment",
        "overflow_count",
        "open",
        "best",
        "best_col",
        "second",
        "second_col",
    )
    #: Its scalars (``cost``: Σ c_j; ``_u_seen``: the U its regret values were computed at).
    _STATE_SCALARS = ("cost", "_u_seen")

    def is_uniform(self) -> bool:
        """Whether every row is the same :class:`Problem` object with the same fixed loads
        (what :meth:`copy_rows` needs)."""
        if self._uniform is None:
            p0, b0 = self.problems[0], self.base_loads[0]
            self._uniform = all(p is p0 for p in self.problems) and all(
                b is b0
                or (
                    b is not None
                    and b0 is not None
                    and np.array_equal(np.asarray(b), np.asarray(b0))
                )
                for b in self.base_loads
            )
        return self._uniform

    def _state_matrix(self, name: str) -> np.ndarray:
        """(B, n): every row's plan-state array ``name``, the states' arrays being its rows (views),
        built on first need and rebuilt if a state's array was replaced."""
        mat = self._state_rows.get(name)
        if mat is None or any(getattr(st, name).base is not mat for st in self.states):
            mat = np.stack([getattr(st, name) for st in self.states])
            for st, row in zip(self.states, mat):
                setattr(st, name, row)
            self._state_rows[name] = mat
        return mat

    def copy_rows(self, src: np.ndarray) -> None:
        """Gather rows: afterwards row ``r`` holds exactly the state row ``src[r]`` held before,
        for every ``r`` at once (a source may be overwritten by the same call).

        Everything the process depends on is copied: loads (in place in :attr:`load`, still
        the plan states' own arrays), every plan-state array and scalar a step changes, and
        the batch's per-row arrays (global item and column indices shifted to the row);
        ``t`` is shared. This step's width ``k_step`` is recomputed for the rows now held, as
        :meth:`_select` would. Only for a batch whose rows are all the same problem object
        with the same fixed loads (:meth:`is_uniform`), e.g. ``PlanBatch([p] * n)``.
        """
        B = self.B
        src = np.asarray(src, dtype=np.int64).reshape(-1)
        if src.shape != (B,):
            raise ValueError(f"copy_rows needs one source row per row ({B}), got {src.shape}")
        if src.size and (src.min() < 0 or src.max() >= B):
            raise ValueError("copy_rows: a source row is out of range")
        if not self.is_uniform():
            raise ValueError(
                "copy_rows needs a uniform batch (every row the same Problem and fixed loads)"
            )
        # plan states: their arrays are rows of one matrix per attribute, gathered at once
        for name in self._STATE_ARRAYS:
            mat = self._state_matrix(name)
            mat[:] = mat[src]
        for name in self._STATE_SCALARS:
            vals = [getattr(st, name) for st in self.states]
            for st, s in zip(self.states, src.tolist()):
                setattr(st, name, vals[s])
        # per-row slices of the global resource / item arrays (uniform: equal lengths)
        n_res, n_it = int(self.res_off[-1]), int(self.item_off[-1])
        for arr, n in ((self.load, n_res), (self.demand, n_res), (self.open, n_it)):
            if n:
                rows = arr[:n].reshape(B, n // B)
                rows[:] = rows[src]
        per_row: tuple[np.ndarray, ...] = (
            self.u,
            self.done,
            self.stuck,
            self.actions,
            self.items,
            self.rest_cost,
        )
        for per in per_row:
            per[:] = per[src]
        col_shift = self.col_off[:-1] - self.col_off[src]
        ch = self.chosen[src]
        self.chosen[:] = np.where(ch >= 0, ch + col_shift[:, None], -1)
        cur = self.cur[src]
        self.cur = np.where(cur >= 0, cur + self.item_off[:-1] - self.item_off[src], -1)
        cand = self.cur_cand[src]
        cand = np.where(cand >= 0, cand + col_shift[:, None], -1)
        n = int((cand >= 0).sum(axis=1).max(initial=0))
        self.k_step = min(self.K, max(self.pad_to, -(-n // self.pad_to) * self.pad_to))
        self.cur_cand = np.ascontiguousarray(cand[:, : self.k_step])
        self._mask = None

    def item_regret(self, b: int, items: int | slice = slice(None)) -> np.ndarray:
        """Problem ``b``'s items (all, or ``items``) as the regret rule ranks them: second-best −
        best fitting ΔZ, an item with no fitting column +inf, one with a single one 1e300."""
        st = self.states[b]
        best, second = st.best[items], st.second[items]
        with np.errstate(invalid="ignore"):
            return np.where(
                ~np.isfinite(best), np.inf, np.where(np.isfinite(second), second - best, 1e300)
            )

    def expected_bottleneck(self) -> np.ndarray:
        """Per problem: mean over balanced resources of (load + expected later demand)."""
        bal = self.balanced[:-1]
        n_bal = np.maximum(np.bincount(self.res_env[bal], minlength=self.B), 1)
        tot = np.bincount(
            self.res_env[bal], weights=(self.load[:-1] + self.demand[:-1])[bal], minlength=self.B
        )
        return tot / n_bal

    def current_item(self) -> np.ndarray:
        """Per problem: the (local) item the current step asks about, -1 when done."""
        return np.where(self.cur >= 0, self.cur - self.item_off[:-1], -1)

    def fit_mask(self) -> np.ndarray:
        """(B, k): true exactly for the current item's columns that fit now (the plan states'
        overflow counts, kept exact by :class:`PlanState`); false for padding and done rows."""
        if self._mask is None:
            mask = np.zeros(self.cur_cand.shape, dtype=bool)
            if self.B > 1 and self.is_uniform():  # one gather from the overflow-count matrix
                cand = self.cur_cand
                ok = (cand >= 0) & ~self.done[:, None]
                local = np.where(ok, cand - self.col_off[:-1, None], 0)
                over = self._state_matrix("overflow_count")
                mask = ok & (over[np.arange(self.B)[:, None], local] == 0)
                self._mask = mask
                return mask
            for b in np.flatnonzero(~self.done):
                cand = self.cur_cand[b]
                n = int((cand >= 0).sum())
                local = cand[:n] - self.col_off[b]
                mask[b, :n] = self.states[b].overflow_count[local] == 0
            self._mask = mask
        return self._mask

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply one action per problem; returns (reward, done) in Z units.

        Problems already done ignore their action. A problem whose current item
        has no fitting column, or whose action is outside the mask, gets stuck:
        it is done and pays the stuck penalty.
        """
        mask = self.fit_mask()
        actions = np.asarray(actions, dtype=np.int64).reshape(self.B)
        active = ~self.done
        reward = np.zeros(self.B)
        t = self.t
        a = np.clip(actions, 0, self.k_step - 1)
        ok = active & (actions == a) & mask[np.arange(self.B), a]
        stuck = active & ~ok
        if ok.any():
            rows = np.flatnonzero(ok)
            j = self.cur_cand[rows, a[rows]]
            self.rest_cost[rows] -= self.item_max_cost[self.cur[rows]]
            self.actions[rows, t] = a[rows]
            self.chosen[rows, t] = j
            for b, jb in zip(rows.tolist(), j.tolist()):
                st, local = self.states[b], int(jb - self.col_off[b])
                reward[b] = -float(st.delta_z(np.array([local]))[0])
                st.add(local)
                self.u[b] = st.u()
        if stuck.any():
            rows = np.flatnonzero(stuck)
            reward[rows] = -self.stuck_penalty(rows)
            self.stuck[rows] = True
        self.t += 1
        self.done = self.done | stuck | (self.t >= self.n_items)
        self._select()
        return reward, self.done.copy()

    def stuck_penalty(self, rows: np.ndarray) -> np.ndarray:
        """Penalty (Z units) for getting stuck now at the current step."""
        rest = self.n_items[rows] - self.t
        return (
            self.rest_cost[rows]
            + self.w_u[rows] * self.bal_cap_max[rows]
            + STUCK_PENALTY * self.scale[rows] * rest
        )

    def assignment(self, b: int) -> np.ndarray:
        """Column index per item of problem ``b`` (-1 where unassigned)."""
        p = self.problems[b]
        out = np.full(p.n_items, -1, dtype=np.int64)
        n = p.n_items
        ch, it = self.chosen[b, :n], self.items[b, :n]
        done = (ch >= 0) & (it >= 0)
        out[it[done]] = ch[done] - self.col_off[b]
        return out

    def z(self, b: int) -> float:
        """Z of problem ``b``'s (partial) plan, fixed loads included."""
        return self.states[b].z()
