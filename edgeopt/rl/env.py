"""Planning as a Markov decision process over core problems (docs/model.md §5).

``PlanBatch`` steps many problems at once with numpy (training and decoding);
``PlanningEnv`` is the same dynamics behind the Gymnasium API, one problem at a time.

The process, for one problem
----------------------------
Step ``t`` assigns one open item; *which* item is chosen by the env from the
current loads (:data:`ITEM_RULES`). The default, ``"regret"``, is the rule of
the ``greedy`` heuristic: among the open items, the one whose best and
second-best fitting columns differ most in ΔZ (cost plus bottleneck rise), an
item with a single fitting column first, an item with none before that (the
episode then gets stuck at once); ties by item index. ``"fixed"`` is the
static order of :func:`item_order` (decreasing mean normalised size, as in
first-fit decreasing). ``current_item()`` names the item being asked about.

Observation
    ``candidates`` (K, F): one row of :data:`FEATURES` per column of the
    current item, in the item's column order (padded to K rows), computed from the core problem's arrays
    only (costs, sparse use, capacities, balanced flags), so one network works
    for scenarios and OR-Library GAP problems alike; ``state`` (G,): the
    :data:`GLOBALS` of the partial plan; ``action_mask`` (K,): true exactly for
    the columns whose use keeps every resource within capacity, with the
    evaluator's test ``load / capacity <= 1 + FEAS_TOL``.
Action
    The index of one of the current item's columns (a row of ``candidates``).
Finish
    After the last item (``terminated``), or as soon as the current item has
    no fitting column or an action outside the mask is taken (``terminated``,
    with the stuck penalty below). There is no truncation.
Reward
    ``-(c_j + w_U * (U_after - U_before))`` for the chosen column ``j``, so a
    complete episode returns exactly ``-Z`` of the plan. Getting stuck adds
    ``-penalty``: the sum of the most expensive column of every item not yet
    assigned, plus ``w_U`` times the largest balanced capacity, plus
    ``STUCK_PENALTY * scale`` per such item — more than any completion could
    cost, so a stuck episode always returns less than any complete one.
    ``scale`` (:func:`cost_scale`) is the problem's mean per-item cost spread;
    trainers divide rewards by it so problems of any unit look alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from edgeopt.core.evaluate import FEAS_TOL
from edgeopt.core.plan import PlanState, segment_min
from edgeopt.core.problem import Problem

__all__ = [
    "FEATURES",
    "GLOBALS",
    "RESOURCE_FEATURES",
    "EDGE_FEATURES",
    "STUCK_PENALTY",
    "PlanBatch",
    "PlanningEnv",
    "ITEM_RULES",
    "cost_scale",
    "item_order",
]

#: Per-candidate features (rows of ``candidates``), in order.
FEATURES = (
    "cost",  # c_j / scale
    "cost_above_item_min",  # (c_j - min over the item's columns) / scale
    "balance_increase",  # w_U * (U_after - U) / scale
    "dz_above_best",  # (ΔZ_j - min ΔZ over fitting columns) / scale
    "dz_rank",  # fitting columns of strictly smaller ΔZ_j / number fitting (ties share a rank)
    "is_best",  # 1 for every fitting column of least ΔZ
    "share_of_left",  # max_l a_jl / (cap_l - load_l)
    "capacity_share",  # sum_l a_jl / cap_l
    "util_after",  # max_l (load_l + a_jl) / cap_l
    "util_before",  # max_l load_l / cap_l over the resources j uses
    "bottleneck_increase",  # (U_after - U) / mean balanced capacity
    "bottleneck_after",  # U_after / mean balanced capacity
    "pressure_max",  # max_l (load_l + a_jl + expected demand of later items) / cap_l
    "pressure_mean",  # mean of the same over the resources j uses
    "dz_level",  # (c_j + w_U * (max(level, U_after) - level)) / scale, level = max(U, expected U)
    "dz_level_above_best",  # dz_level - its min over fitting columns
    "lagrangian_above_min",  # (priced cost - its min over the item's columns) / scale (prices.py)
    "lagrangian_best",  # 1 for the item's columns of least priced cost
)
#: Global state features (``state``), in order.
GLOBALS = (
    "progress",  # t / n_items
    "bottleneck",  # U / mean balanced capacity
    "mean_util",  # mean load / cap over resources
    "mean_pressure",  # mean (load + expected later demand) / cap
    "fit_fraction",  # fitting columns / columns of the current item
    "balance_scale",  # w_U * mean balanced capacity / scale
    "log_items",  # log(1 + n_items) / 5
    "expected_bottleneck",  # expected U: mean over balanced resources of (load + expected later demand), / mean balanced capacity
    "item_regret",  # (second-best − best ΔZ of the current item's fitting columns) / scale; _CLIP when one fits
    "tight_items",  # share of the open items (this one included) with at most one fitting column
)
#: Per-resource features (rows of ``resources``): what a controller's compute, memory or a link
#: still has and what the open demand will ask of it.
RESOURCE_FEATURES = (
    "util",  # load / cap
    "pressure",  # (load + expected demand of the open items) / cap
    "demand",  # expected demand of the open items / cap
    "balanced",  # 1 when the resource enters U
    "level",  # balanced: load / mean balanced capacity
    "capacity",  # balanced: cap / mean balanced capacity
    "below_u",  # balanced: (U - load) / mean balanced capacity
    "below_expected",  # balanced: (max(U, expected U) - load) / mean balanced capacity
    "price",  # Lagrangian capacity price y × cap / scale (prices.py)
    "balance_share",  # Lagrangian balance weight ν / w_U
)
#: Per (candidate column, resource it uses) features (``edge_feats``).
EDGE_FEATURES = (
    "share",  # a / cap
    "util_after",  # (load + a) / cap
    "pressure_after",  # (load + a + expected demand) / cap
    "priced_use",  # (y + ν) × a / scale: the Lagrangian price of this use
)
#: How the env picks the next item (see the module docstring).
ITEM_RULES = ("regret", "fixed")
N_FEATURES, N_GLOBALS = len(FEATURES), len(GLOBALS)
N_RES_FEATURES, N_EDGE_FEATURES = len(RESOURCE_FEATURES), len(EDGE_FEATURES)
#: Stuck penalty per unassigned item, in units of the problem's cost scale.
STUCK_PENALTY = 2.0
_CLIP = 10.0


def _clean(x: np.ndarray) -> np.ndarray:
    """NaN to 0, then clipped to ±_CLIP (±inf included), in place where possible."""
    x[np.isnan(x)] = 0.0
    return np.clip(x, -_CLIP, _CLIP, out=x)


def cost_scale(problem: Problem) -> float:
    """Mean over items of (max − min column cost); mean |c| or 1 when that is zero."""
    ptr = problem.item_ptr
    nonempty = ptr[1:] > ptr[:-1]
    if not nonempty.any():
        return 1.0
    starts = ptr[:-1][nonempty]
    c = problem.col_cost
    spread = float(np.mean(np.maximum.reduceat(c, starts) - np.minimum.reduceat(c, starts)))
    if spread > 1e-12:
        return spread
    m = float(np.mean(np.abs(c))) if c.size else 0.0
    return m if m > 1e-12 else 1.0


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


class PlanBatch:
    """Many problems stepped together; all share the step counter ``t``.

    Problems are concatenated (items, resources and columns offset per
    problem); each column's sparse use is held as R padded entries
    (``ell_idx``, ``ell_amt``) pointing at a dummy resource of infinite
    capacity where unused. Problem ``b`` is done after its last item or when
    stuck; later steps give it an empty mask and zero reward.

    :param problems: the problems (the same object may appear many times, e.g.
        for sampling several plans of one problem).
    :param pad_to: the candidates of a step are padded to a multiple of this: observations are
        (B, k, ·) with k the widest current item's column count rounded up (at most :attr:`K`,
        the widest item of all).
    :param order: how the next item is chosen, a key of :data:`ITEM_RULES`.
    :param merge: find interchangeable candidates (``obs['choice']``, ``obs['rep']``); without
        it ``choice`` is the mask and ``rep`` each candidate itself (greedy decoding, which takes
        the first of equal scores anyway, does not need it).
    :param loads: per problem, loads present before any item is placed (None: empty), e.g.
        the fixed part of a large-neighbourhood search; rewards stay exact ΔZ.
    """

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        pad_to: int = 8,
        order: str = "regret",
        merge: bool = True,
        loads: Sequence[np.ndarray | None] | None = None,
    ):
        self.problems = list(problems)
        B = len(self.problems)
        if B == 0:
            raise ValueError("PlanBatch needs at least one problem")
        if order not in ITEM_RULES:
            raise ValueError(f"unknown item order {order!r}; expected one of {sorted(ITEM_RULES)}")
        self.order_rule = order
        self.merge = merge
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
        self.dummy = n_res
        R = max(1, max(int(np.diff(p.use.indptr).max(initial=0)) for p in self.problems))
        self.ell_idx = np.full((n_col, R), self.dummy, dtype=np.int64)
        self.ell_amt = np.zeros((n_col, R))
        self.cap = np.concatenate([p.capacity for p in self.problems] + [[np.inf]])
        self.balanced = np.concatenate([p.balanced for p in self.problems] + [[False]])
        self.res_env = np.repeat(np.arange(B), res_n)
        self.col_env = np.repeat(np.arange(B), col_n)
        self.item_env = np.repeat(np.arange(B), self.n_items)
        self.cost = np.concatenate([p.col_cost for p in self.problems])
        self.w_u = np.array([p.balance_weight for p in self.problems])
        self.scale = np.array([cost_scale(p) for p in self.problems])
        self.bal_cap = np.array(
            [
                float(p.capacity[p.balanced].mean()) if p.balanced.any() else 1.0
                for p in self.problems
            ]
        )
        self.bal_cap_max = np.array(
            [
                float(p.capacity[p.balanced].max()) if p.balanced.any() else 0.0
                for p in self.problems
            ]
        )
        k_max = max(int(np.diff(p.item_ptr).max(initial=1)) for p in self.problems)
        self.K = int(-(-k_max // pad_to) * pad_to)
        self.pad_to = pad_to
        # Global item → column range, column → global item, (problem, local item) → global item.
        self.item_ptr = np.concatenate(
            [p.item_ptr[:-1] + self.col_off[b] for b, p in enumerate(self.problems)] + [[n_col]]
        ).astype(np.int64)
        self.col_item = np.concatenate(
            [p.col_item + self.item_off[b] for b, p in enumerate(self.problems)]
        ).astype(np.int64)
        self.item_mat = np.full((B, self.T), -1, dtype=np.int64)
        self.fixed_rank = np.zeros(int(self.item_off[-1]))
        self.item_max_cost = np.zeros(int(self.item_off[-1]))
        dem_item, dem_res, dem_val = [], [], []
        for b, p in enumerate(self.problems):
            use = p.use
            counts = np.diff(use.indptr)
            pos = np.arange(use.nnz) - np.repeat(use.indptr[:-1], counts)
            cols = np.repeat(np.arange(p.n_columns), counts)
            self.ell_idx[self.col_off[b] + cols, pos] = self.res_off[b] + use.indices
            self.ell_amt[self.col_off[b] + cols, pos] = use.data
            g = self.item_off[b] + np.arange(p.n_items)
            self.item_mat[b, : p.n_items] = g
            self.fixed_rank[g[item_order(p)]] = np.arange(p.n_items)
            n_cols_item = np.diff(p.item_ptr)
            ne = n_cols_item > 0
            if ne.any():
                self.item_max_cost[g[ne]] = np.maximum.reduceat(p.col_cost, p.item_ptr[:-1][ne])
            # Expected demand of item i on resource l: its mean use over its columns.
            ent_item = p.col_item[cols]
            dem_item.append(self.item_off[b] + ent_item)
            dem_res.append(self.res_off[b] + use.indices)
            dem_val.append(use.data / np.maximum(n_cols_item[ent_item], 1))
        items_a = np.concatenate(dem_item).astype(np.int64)
        self.dem_res = np.concatenate(dem_res).astype(np.int64)
        self.dem_val = np.concatenate(dem_val)
        if not bool((items_a[1:] >= items_a[:-1]).all()):  # columns grouped by item: sorted already
            srt = np.argsort(items_a, kind="stable")
            items_a, self.dem_res, self.dem_val = items_a[srt], self.dem_res[srt], self.dem_val[srt]
        self.dem_ptr = np.searchsorted(items_a, np.arange(int(self.item_off[-1]) + 1))
        # Lagrangian prices per problem (fixed loads taken off the capacities)
        from edgeopt.rl.prices import lagrangian_prices

        self.price = np.zeros(n_res + 1)  # y + ν per global resource (0 for the dummy)
        self.price_cap = np.zeros(n_res + 1)  # y × cap / scale
        self.nu_share = np.zeros(n_res + 1)
        self.col_lagr = np.zeros(n_col)
        self.col_lagr_best = np.zeros(n_col)
        for b, p in enumerate(self.problems):
            base = self.base_loads[b]
            cap_left = p.capacity if base is None else p.capacity - base
            y, nu, _ = lagrangian_prices(p, capacity=cap_left)
            sl = slice(self.res_off[b], self.res_off[b + 1])
            self.price[sl] = y + nu
            self.price_cap[sl] = y * np.maximum(cap_left, 0.0) / self.scale[b]
            if p.balance_weight > 0:
                self.nu_share[sl] = nu / p.balance_weight
            priced = p.col_cost + p.use.T @ (y + nu)
            if p.n_columns:
                mins = segment_min(priced, p.item_ptr)
                above = priced - mins[p.col_item]
                cs = slice(self.col_off[b], self.col_off[b + 1])
                self.col_lagr[cs] = above / self.scale[b]
                tol = 1e-12 * max(1.0, float(np.abs(mins[np.isfinite(mins)]).max(initial=0.0)))
                self.col_lagr_best[cs] = above <= tol
        # static per column / per use entry, gathered each step instead of recomputed
        self.ell_real = self.ell_idx != self.dummy
        self.ell_share = np.where(self.ell_real, self.ell_amt / self.cap[self.ell_idx], 0.0)
        self.col_share_sum = self.ell_share.sum(axis=1)
        col_scale = self.scale[self.col_env]
        self.col_cost_s = self.cost / col_scale
        item_min = segment_min(self.cost, self.item_ptr)
        self.col_above_min_s = (self.cost - item_min[self.col_item]) / col_scale
        # (problem, local resource) -> global resource (the dummy where padded)
        self.L = int(res_n.max(initial=1)) or 1
        loc = np.arange(self.L)
        self.res_mask = loc[None, :] < res_n[:, None]
        self.res_map = np.where(self.res_mask, self.res_off[:-1, None] + loc[None, :], self.dummy)
        self.reset()

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Back to the empty plan."""
        self.t = 0
        self.load = np.zeros(self.cap.shape[0])
        for b, base in enumerate(self.base_loads):
            if base is not None:
                self.load[self.res_off[b] : self.res_off[b + 1]] = base
        self.states = [
            PlanState(p, track=True, load=base) for p, base in zip(self.problems, self.base_loads)
        ]
        self.u = np.array([st.u() for st in self.states])
        self.done = self.n_items == 0
        self.stuck = np.zeros(self.B, dtype=bool)
        self.actions = np.full((self.B, self.T), -1, dtype=np.int64)
        self.chosen = np.full((self.B, self.T), -1, dtype=np.int64)
        self.items = np.full((self.B, self.T), -1, dtype=np.int64)  # local item asked at each step
        self.open = np.ones(int(self.item_off[-1]), dtype=bool)  # not yet asked about
        self.rest_cost = np.bincount(self.item_env, weights=self.item_max_cost, minlength=self.B)
        self.demand = np.zeros(self.cap.shape[0])
        np.add.at(self.demand, self.dem_res, self.dem_val)
        self._obs: dict[str, np.ndarray] | None = None
        self._select()

    def _select(self) -> None:
        """Choose each active problem's next item (``ITEM_RULES``) from its plan state and take it
        out of the later demand."""
        B, K = self.B, self.K
        cur = np.full(B, -1, dtype=np.int64)
        self.cur_regret = np.zeros(B)
        self.tight_share = np.zeros(B)
        for b in np.flatnonzero(~self.done):
            st = self.states[b]
            best, second = st.best, st.second
            with np.errstate(invalid="ignore"):
                # no fitting column first (the episode gets stuck at once), then a single one
                regret = np.where(
                    ~np.isfinite(best), np.inf, np.where(np.isfinite(second), second - best, 1e300)
                )
            if self.order_rule == "fixed":
                score = -self.fixed_rank[self.item_off[b] : self.item_off[b + 1]]
            else:
                score = regret
            i = int(np.argmax(np.where(st.open, score, -np.inf)))
            cur[b] = self.item_off[b] + i
            reg = regret[i]
            self.cur_regret[b] = reg / self.scale[b] if reg < 1e299 else _CLIP
            self.tight_share[b] = float((st.open & ~np.isfinite(second)).sum()) / max(
                int(st.open.sum()), 1
            )
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

    def observe(self) -> dict[str, np.ndarray]:
        """``candidates`` (B, K, F) float32, ``mask`` (B, K) bool, ``state`` (B, G) float32."""
        if self._obs is not None:
            return self._obs
        B, K, t = self.B, self.k_step, self.t
        cand = self.cur_cand
        valid = (cand >= 0) & ~self.done[:, None]
        c = np.where(valid, cand, 0)
        idx = self.ell_idx[c]  # (B, K, R)
        amt = self.ell_amt[c]
        real = idx != self.dummy
        load = self.load[idx]
        cap = self.cap[idx]
        after = (load + amt) / cap
        mask = valid & (after <= 1.0 + FEAS_TOL).all(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.where(real, amt / np.maximum(cap - load, 1e-12 * cap), 0.0)
        bal = self.balanced[idx]
        u = self.u[:, None]
        u_after = np.maximum(u, np.where(bal, load + amt, -np.inf).max(axis=2))
        du = u_after - u
        cost = self.cost[c]
        s = self.scale[:, None]
        dz = cost + self.w_u[:, None] * du
        big = np.inf
        dz_fit = np.where(mask, dz, big)
        best = dz_fit.min(axis=1, keepdims=True)
        n_fit = mask.sum(axis=1)
        # rank = fitting columns of strictly smaller ΔZ, so equal columns get equal features
        order = np.argsort(dz_fit, axis=1, kind="stable")
        srt = np.take_along_axis(dz_fit, order, axis=1)
        starts = np.ones((B, K), dtype=bool)
        starts[:, 1:] = srt[:, 1:] != srt[:, :-1]
        first = np.maximum.accumulate(np.where(starts, np.arange(K)[None, :], 0), axis=1)
        rank = np.empty((B, K))
        np.put_along_axis(rank, order, first.astype(np.float64), axis=1)
        press = np.where(real, (load + amt + self.demand[idx]) / cap, 0.0)
        n_real = np.maximum(real.sum(axis=2), 1)
        # Expected final bottleneck if the remaining demand spread evenly over balanced resources.
        u_exp = self.expected_bottleneck()
        level = np.maximum(self.u, u_exp)[:, None]
        dzl = cost + self.w_u[:, None] * (np.maximum(level, u_after) - level)
        dzl_best = np.where(mask, dzl, big).min(axis=1, keepdims=True)
        feats = np.stack(
            [
                self.col_cost_s[c],
                self.col_above_min_s[c],
                self.w_u[:, None] * du / s,
                np.where(mask, dz - np.where(np.isfinite(best), best, 0.0), 0.0) / s,
                np.where(mask, rank / np.maximum(n_fit[:, None], 1), 1.0),
                (mask & (dz == best)).astype(np.float64),
                left.max(axis=2),
                self.col_share_sum[c],
                np.where(real, after, 0.0).max(axis=2),
                np.where(real, load / cap, 0.0).max(axis=2),
                du / self.bal_cap[:, None],
                u_after / self.bal_cap[:, None],
                press.max(axis=2),
                press.sum(axis=2) / n_real,
                dzl / s,
                np.where(mask, dzl - np.where(np.isfinite(dzl_best), dzl_best, 0.0), 0.0) / s,
                self.col_lagr[c],
                self.col_lagr_best[c],
            ],
            axis=2,
        )
        feats = np.where(valid[:, :, None], feats, 0.0)
        feats = _clean(feats)
        util = self.load[:-1] / self.cap[:-1]
        pres = (self.load[:-1] + self.demand[:-1]) / self.cap[:-1]
        n_res = np.maximum(np.diff(self.res_off), 1)
        mean_util = np.bincount(self.res_env, weights=util, minlength=B) / n_res
        mean_pres = np.bincount(self.res_env, weights=pres, minlength=B) / n_res
        n_valid = np.maximum(valid.sum(axis=1), 1)
        glob = np.stack(
            [
                t / np.maximum(self.n_items, 1),
                self.u / self.bal_cap,
                mean_util,
                mean_pres,
                n_fit / n_valid,
                self.w_u * self.bal_cap / self.scale,
                np.log1p(self.n_items) / 5.0,
                u_exp / self.bal_cap,
                self.cur_regret,
                self.tight_share,
            ],
            axis=1,
        )
        glob = _clean(glob)
        # resources of each problem and the edges (candidate, resource it uses)
        gl = self.res_map
        r_load, r_cap, r_dem = self.load[gl], self.cap[gl], self.demand[gl]
        r_bal = self.balanced[gl]
        bc = self.bal_cap[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            res = np.stack(
                [
                    r_load / r_cap,
                    (r_load + r_dem) / r_cap,
                    r_dem / r_cap,
                    r_bal.astype(np.float64),
                    np.where(r_bal, r_load / bc, 0.0),
                    np.where(r_bal, r_cap / bc, 0.0),
                    np.where(r_bal, (u - r_load) / bc, 0.0),
                    np.where(r_bal, (level - r_load) / bc, 0.0),
                    self.price_cap[gl],
                    self.nu_share[gl],
                ],
                axis=2,
            )
        res = np.where(self.res_mask[:, :, None], res, 0.0)
        res = _clean(res)
        edge_mask = real & valid[:, :, None]
        edge_res = np.where(edge_mask, idx - self.res_off[:-1, None, None], 0)
        edge = np.stack(
            [
                np.where(edge_mask, self.ell_share[c], 0.0),
                np.where(edge_mask, after, 0.0),
                press,
                np.where(edge_mask, self.price[idx] * amt / self.scale[:, None, None], 0.0),
            ],
            axis=3,
        )
        edge = np.where(edge_mask[..., None], edge, 0.0)
        edge = _clean(edge)
        self._obs = {
            "candidates": feats.astype(np.float32),
            "mask": mask,
            "state": glob.astype(np.float32),
            "resources": res.astype(np.float32),
            "res_mask": self.res_mask,
            "edge_res": edge_res.astype(np.int32),
            "edge_feats": edge.astype(np.float32),
            "edge_mask": edge_mask,
            "dz": dz,
            "dz_level": dzl,
        }
        if self.merge:
            rep = self._class_rep(cost, amt, load, cap, idx, valid)
        else:
            rep = np.where(valid, np.arange(K)[None, :], -1)
        self._obs["rep"] = rep
        self._obs["choice"] = mask & (rep == np.arange(K)[None, :])
        return self._obs

    def _class_rep(
        self,
        cost: np.ndarray,
        amt: np.ndarray,
        load: np.ndarray,
        cap: np.ndarray,
        idx: np.ndarray,
        valid: np.ndarray,
    ) -> np.ndarray:
        """(B, K): per candidate, the position of the first candidate of its class of
        interchangeable ones (-1 for padding).

        Two columns of the current item are interchangeable now when they have the same
        cost and, resource by resource, the same use on resources of the same capacity,
        load, expected demand, balance flag and Lagrangian price: every feature the policy sees is then
        equal, so they are merged into one choice and ties do not split probability.
        """
        B, K = cost.shape
        dem, bal = self.demand[idx], self.balanced[idx].astype(np.float64)
        keys = [cost]
        for arr in (amt, load, cap, dem, bal, self.price[idx]):
            keys += [arr[:, :, r] for r in range(arr.shape[2])]
        flat = [np.where(valid, k, np.inf).ravel() for k in keys]
        row = np.repeat(np.arange(B), K)
        pos = np.tile(np.arange(K), B)
        order = np.lexsort([pos, *flat[::-1], row])
        same = np.ones(B * K, dtype=bool)
        same[0] = False
        same[1:] = row[order[1:]] == row[order[:-1]]
        for k in flat:
            sk = k[order]
            same[1:] &= sk[1:] == sk[:-1]
        # the first of each run in sorted order is its class's first position (pos breaks ties)
        start = np.flatnonzero(~same)
        run = np.cumsum(~same) - 1
        rep = np.empty(B * K, dtype=np.int64)
        rep[order] = pos[order[start[run]]]
        return np.where(valid, rep.reshape(B, K), -1)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply one action per problem; returns (reward, done) in Z units.

        Problems already done ignore their action. A problem whose current item
        has no fitting column, or whose action is outside the mask, gets stuck:
        it is done and pays the stuck penalty.
        """
        obs = self.observe()
        mask = obs["mask"]
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
            reward[rows] = -obs["dz"][rows, a[rows]]
            np.add.at(self.load, self.ell_idx[j].ravel(), self.ell_amt[j].ravel())
            bal = self.balanced[self.ell_idx[j]]
            self.u[rows] = np.maximum(
                self.u[rows], np.where(bal, self.load[self.ell_idx[j]], -np.inf).max(axis=1)
            )
            self.actions[rows, t] = a[rows]
            self.chosen[rows, t] = j
            for b, jb in zip(rows.tolist(), j.tolist()):
                self.states[b].add(int(jb - self.col_off[b]))
        if stuck.any():
            rows = np.flatnonzero(stuck)
            reward[rows] = -self.stuck_penalty(rows)
            self.stuck[rows] = True
        self.t += 1
        self.done = self.done | stuck | (self.t >= self.n_items)
        self._obs = None
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


class PlanningEnv(gym.Env):
    """Gymnasium environment over one core problem (or one drawn per reset from a list).

    See the module docstring for observations, constraints, finish and reward.
    ``info`` carries ``action_mask`` as well; at the end it also carries
    ``assignment`` (column per item, -1 where unassigned) and ``stuck``.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, problems: Problem | Sequence[Problem], *, order: str = "regret"):
        self.pool = [problems] if isinstance(problems, Problem) else list(problems)
        self._batches = [PlanBatch([p], order=order) for p in self.pool]
        K = max(b.K for b in self._batches)
        self.K = K
        self.observation_space = spaces.Dict(
            {
                "candidates": spaces.Box(-_CLIP, _CLIP, shape=(K, N_FEATURES), dtype=np.float32),
                "state": spaces.Box(-_CLIP, _CLIP, shape=(N_GLOBALS,), dtype=np.float32),
                "action_mask": spaces.MultiBinary(K),
            }
        )
        self.action_space = spaces.Discrete(K)
        self.batch = self._batches[0]

    def _obs(self) -> dict[str, np.ndarray]:
        o = self.batch.observe()
        k = o["candidates"].shape[1]
        cand = np.zeros((self.K, N_FEATURES), dtype=np.float32)
        cand[:k] = o["candidates"][0]
        mask = np.zeros(self.K, dtype=np.int8)
        mask[:k] = o["mask"][0]
        return {"candidates": cand, "state": o["state"][0], "action_mask": mask}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        k = int(self.np_random.integers(len(self._batches))) if len(self._batches) > 1 else 0
        self.batch = self._batches[k]
        self.batch.reset()
        obs = self._obs()
        return obs, {"action_mask": obs["action_mask"].astype(bool)}

    def action_masks(self) -> np.ndarray:
        """The current action mask as booleans (K,): what SB3-contrib's ``MaskablePPO`` calls.

        True exactly for the current item's columns that fit (the evaluator's test).
        """
        return self._obs()["action_mask"].astype(bool)

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        reward, done = self.batch.step(np.array([int(action)]))
        obs = self._obs()
        info: dict[str, Any] = {"action_mask": obs["action_mask"].astype(bool)}
        if done[0]:
            info["assignment"] = self.batch.assignment(0)
            info["stuck"] = bool(self.batch.stuck[0])
        return obs, float(reward[0]), bool(done[0]), False, info
