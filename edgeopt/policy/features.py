"""What the learned policy sees of a batch of partial plans: features, and merged choices.

:class:`PolicyBatch` is the plan-state engine :class:`~edgeopt.core.batch.PlanBatch`
plus :meth:`PolicyBatch.observe`, which computes, from the core problem's arrays
only (costs, sparse use, capacities, balanced flags), so one network works for
scenarios and OR-Library GAP problems alike:

``candidates`` (B, K, F)
    one row of :data:`FEATURES` per column of the current item, in the item's
    column order (padded to K rows);
``state`` (B, G)
    the :data:`GLOBALS` of the partial plan;
``resources`` (B, L, Fr), ``res_mask`` (B, L)
    :data:`RESOURCE_FEATURES` per resource of the problem;
``edge_res``, ``edge_feats``, ``edge_mask`` (B, K, R[, Fe])
    per (candidate, resource it uses): which resource, :data:`EDGE_FEATURES`;
``mask`` (B, K)
    true exactly for the columns that fit (the engine's :meth:`~PlanBatch.fit_mask`);
``choice``, ``rep`` (B, K)
    interchangeable candidates merged (:meth:`PolicyBatch._class_rep`);
``dz``, ``dz_level`` (B, K)
    ΔZ of each candidate now, and against the expected final bottleneck;
``left`` (B,)
    the open items, the current one included (0 once done, where the critic's
    cost-to-go is 0).

Lagrangian prices (:mod:`edgeopt.core.lagrange`) of each problem, with the
fixed loads taken off the capacities, feed the ``lagrangian_*``, ``price``
and ``priced_use`` features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgeopt.core.batch import PlanBatch, _tile
from edgeopt.core.lagrange import lagrangian_prices, priced_cost
from edgeopt.core.plan import segment_min
from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import IMPROVE_TOL, TINY

__all__ = [
    "FEATURES",
    "GLOBALS",
    "RESOURCE_FEATURES",
    "EDGE_FEATURES",
    "N_FEATURES",
    "N_GLOBALS",
    "N_RES_FEATURES",
    "N_EDGE_FEATURES",
    "CLIP",
    "PolicyBatch",
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
    "open_min_cost",  # sum over the open items (this one included) of their cheapest column / scale
    "expected_balance_cost",  # w_U * max(0, expected U - U) / scale: the balance term still to come
    "open_best_dz",  # sum over the open items of their least fitting ΔZ now / scale (each alone)
    "open_best_dz_max",  # the largest of those least ΔZ / scale: the dearest item still to place
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
N_FEATURES, N_GLOBALS = len(FEATURES), len(GLOBALS)
N_RES_FEATURES, N_EDGE_FEATURES = len(RESOURCE_FEATURES), len(EDGE_FEATURES)
#: Features are clipped to ±CLIP (NaN to 0).
CLIP = 10.0


def _max_r(x: np.ndarray) -> np.ndarray:
    """``x.max(axis=2)`` for (B, K, R) with R small: R - 1 elementwise maxima over (B, K) slices
    (the same values; NumPy's reduction over a short last axis is several times slower)."""
    m = x[:, :, 0].copy()
    for r in range(1, x.shape[2]):
        np.maximum(m, x[:, :, r], out=m)
    return m


def _clean(x: np.ndarray) -> np.ndarray:
    """NaN to 0, then clipped to ±CLIP (±inf included), in place where possible."""
    x[np.isnan(x)] = 0.0
    return np.clip(x, -CLIP, CLIP, out=x)


class PolicyBatch(PlanBatch):
    """A :class:`~edgeopt.core.batch.PlanBatch` the policy observes.

    :param merge: find interchangeable candidates (``obs['choice']``, ``obs['rep']``); without
        it ``choice`` is the mask and ``rep`` each candidate itself (greedy decoding, which takes
        the first of equal scores anyway, does not need it).

    The other parameters are :class:`~edgeopt.core.batch.PlanBatch`'s.
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
        self.merge = merge
        self._obs: dict[str, np.ndarray] | None = None
        super().__init__(problems, pad_to=pad_to, order=order, loads=loads)
        self.bal_cap = np.array(
            [
                float(p.capacity[p.balanced].mean()) if p.balanced.any() else 1.0
                for p in self.problems
            ]
        )
        n_res, n_col = int(self.res_off[-1]), int(self.col_off[-1])
        # Lagrangian prices per problem (fixed loads taken off the capacities)
        self.price = np.zeros(n_res + 1)  # y + ν per global resource (0 for the dummy)
        self.price_cap = np.zeros(n_res + 1)  # y × cap / scale
        self.nu_share = np.zeros(n_res + 1)
        self.col_lagr = np.zeros(n_col)
        self.col_lagr_best = np.zeros(n_col)
        # per distinct (problem, fixed loads): prices and the columns' priced-cost features
        local: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}
        for b, p in enumerate(self.problems):
            base = self.base_loads[b]
            key = (id(p), id(base))
            if key not in local:
                local[key] = self._price_features(p, base, float(self.scale[b]))
            price, price_cap, nu_share, col_lagr, col_lagr_best = local[key]
            sl = slice(self.res_off[b], self.res_off[b + 1])
            self.price[sl] = price
            self.price_cap[sl] = price_cap
            if p.balance_weight > 0:
                self.nu_share[sl] = nu_share
            if p.n_columns:
                cs = slice(self.col_off[b], self.col_off[b + 1])
                self.col_lagr[cs] = col_lagr
                self.col_lagr_best[cs] = col_lagr_best
        if self._same:  # one row's, tiled
            p0, s0 = self.problems[0], self.scale[0]
            item_min = segment_min(p0.col_cost, p0.item_ptr)
            self.col_cost_s = _tile(p0.col_cost / s0, self.B)
            self.col_above_min_s = _tile((p0.col_cost - item_min[p0.col_item]) / s0, self.B)
            self.item_min_cost_s = _tile(
                np.where(np.isfinite(item_min), item_min, 0.0) / s0, self.B
            )
        else:
            col_scale = self.scale[self.col_env]
            self.col_cost_s = self.cost / col_scale
            item_min = segment_min(self.cost, self.item_ptr)
            self.col_above_min_s = (self.cost - item_min[self.col_item]) / col_scale
            self.item_min_cost_s = (
                np.where(np.isfinite(item_min), item_min, 0.0) / self.scale[self.item_env]
            )

    @staticmethod
    def _price_features(
        p: Problem, base: np.ndarray | None, scale: float
    ) -> tuple[np.ndarray, ...]:
        """One problem's Lagrangian features (fixed loads ``base`` taken off the capacities):
        per resource y + ν, y × cap / scale and ν / w_U; per column (priced cost − the item's
        least) / scale and whether it is the least."""
        cap_left = p.capacity if base is None else p.capacity - base
        y, nu = lagrangian_prices(p, capacity=cap_left)[:2]
        price = y + nu
        price_cap = y * np.maximum(cap_left, 0.0) / scale
        nu_share = nu / p.balance_weight if p.balance_weight > 0 else np.zeros(0)
        col_lagr = col_lagr_best = np.zeros(0)
        if p.n_columns:
            priced = priced_cost(p, y + nu)
            mins = segment_min(priced, p.item_ptr)
            above = priced - mins[p.col_item]
            col_lagr = above / scale
            tol = IMPROVE_TOL * max(1.0, float(np.abs(mins[np.isfinite(mins)]).max(initial=0.0)))
            col_lagr_best = above <= tol
        return price, price_cap, nu_share, col_lagr, col_lagr_best

    def _select(self) -> None:
        super()._select()
        self._obs = None

    def copy_rows(self, src: np.ndarray) -> None:
        """:meth:`PlanBatch.copy_rows <edgeopt.core.batch.PlanBatch.copy_rows>`; the cached
        observation is dropped."""
        super().copy_rows(src)
        self._obs = None

    def _current_regret(self) -> tuple[np.ndarray, ...]:
        """Per problem: the current item's regret / scale (CLIP when one column fits), the
        share of open items with at most one fitting column, and over the open items the sum
        and the max of their least fitting ΔZ / scale (an item with none counts CLIP)."""
        cur_regret = np.zeros(self.B)
        tight_share = np.zeros(self.B)
        best_sum = np.zeros(self.B)
        best_max = np.zeros(self.B)
        if self.B > 1 and self.is_uniform():  # the rows' plan states as matrices: all rows at once
            rows = np.flatnonzero(~self.done)
            if rows.size:
                i = self.cur[rows] - self.item_off[rows]
                best = self._state_matrix("best")[rows, i]
                second = self._state_matrix("second")[rows, i]
                with np.errstate(invalid="ignore"):
                    regs = np.where(
                        ~np.isfinite(best),
                        np.inf,
                        np.where(np.isfinite(second), second - best, 1e300),
                    )
                cur_regret[rows] = np.where(regs < 1e299, regs / self.scale[rows], CLIP)
                is_open = self._state_matrix("open")[rows]
                sec = self._state_matrix("second")[rows]
                tight = (is_open & ~np.isfinite(sec)).sum(axis=1)
                tight_share[rows] = tight / np.maximum(is_open.sum(axis=1), 1)
                best_all = self._state_matrix("best")
                for k, r in enumerate(rows.tolist()):  # row by row: the sums of the loop below
                    b_r = best_all[r][is_open[k]] / self.scale[r]
                    b_r = np.where(np.isfinite(b_r), b_r, CLIP)
                    best_sum[r] = float(b_r.sum())
                    best_max[r] = float(b_r.max(initial=0.0))
            return cur_regret, tight_share, best_sum, best_max
        for b in np.flatnonzero(~self.done):
            st = self.states[b]
            reg = float(self.item_regret(int(b), int(self.cur[b] - self.item_off[b])))
            cur_regret[b] = reg / self.scale[b] if reg < 1e299 else CLIP
            tight_share[b] = float((st.open & ~np.isfinite(st.second)).sum()) / max(
                int(st.open.sum()), 1
            )
            best = st.best[st.open] / self.scale[b]
            best = np.where(np.isfinite(best), best, CLIP)
            best_sum[b] = float(best.sum())
            best_max[b] = float(best.max(initial=0.0))
        return cur_regret, tight_share, best_sum, best_max

    def observe(self) -> dict[str, np.ndarray]:
        """``candidates`` (B, K, F) float32, ``mask`` (B, K) bool, ``state`` (B, G) float32."""
        if self._obs is not None:
            return self._obs
        B, K, t = self.B, self.k_step, self.t
        cur_regret, tight_share, best_sum, best_max = self._current_regret()
        cand = self.cur_cand
        valid = (cand >= 0) & ~self.done[:, None]
        c = np.where(valid, cand, 0)
        idx, amt = self.candidate_use(c)  # (B, K, R)
        real = idx != self.dummy
        load = self.load[idx]
        cap = self.cap[idx]
        share = np.where(real, amt / cap, 0.0)  # a / cap (0 for padding)
        after = (load + amt) / cap
        mask = self.fit_mask()
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.where(real, amt / np.maximum(cap - load, TINY * cap), 0.0)
        bal = self.balanced[idx]
        u = self.u[:, None]
        u_after = np.maximum(u, _max_r(np.where(bal, load + amt, -np.inf)))
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
        row_ix = np.arange(B)[:, None]
        srt = dz_fit[row_ix, order]
        starts = np.ones((B, K), dtype=bool)
        starts[:, 1:] = srt[:, 1:] != srt[:, :-1]
        first = np.maximum.accumulate(np.where(starts, np.arange(K)[None, :], 0), axis=1)
        rank = np.empty((B, K))
        rank[row_ix, order] = first
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
                _max_r(left),
                share.sum(axis=2),
                _max_r(np.where(real, after, 0.0)),
                _max_r(np.where(real, load / cap, 0.0)),
                du / self.bal_cap[:, None],
                u_after / self.bal_cap[:, None],
                _max_r(press),
                press.sum(axis=2) / n_real,
                dzl / s,
                np.where(mask, dzl - np.where(np.isfinite(dzl_best), dzl_best, 0.0), 0.0) / s,
                self.col_lagr[c],
                self.col_lagr_best[c],
            ],
            axis=2,
        )
        feats[~valid] = 0.0  # (np.stack made a new array)
        feats = _clean(feats)
        util = self.load[:-1] / self.cap[:-1]
        pres = (self.load[:-1] + self.demand[:-1]) / self.cap[:-1]
        n_res = np.maximum(np.diff(self.res_off), 1)
        mean_util = np.bincount(self.res_env, weights=util, minlength=B) / n_res
        mean_pres = np.bincount(self.res_env, weights=pres, minlength=B) / n_res
        n_valid = np.maximum(valid.sum(axis=1), 1)
        still_open = self.open.copy()  # not yet asked about, and each row's current item
        still_open[self.cur[self.cur >= 0]] = True
        open_min = np.bincount(
            self.item_env, weights=self.item_min_cost_s * still_open, minlength=B
        )
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
                cur_regret,
                tight_share,
                np.where(self.done, 0.0, open_min),
                self.w_u * np.maximum(u_exp - self.u, 0.0) / self.scale,
                best_sum,
                best_max,
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
        res[~self.res_mask] = 0.0
        res = _clean(res)
        edge_mask = real & valid[:, :, None]
        edge_res = np.where(edge_mask, idx - self.res_off[:-1, None, None], 0)
        edge = np.stack(
            [
                np.where(edge_mask, share, 0.0),
                np.where(edge_mask, after, 0.0),
                press,
                np.where(edge_mask, self.price[idx] * amt / self.scale[:, None, None], 0.0),
            ],
            axis=3,
        )
        edge[~edge_mask] = 0.0
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
            # open items, this one included (0 once done: the critic's cost-to-go is then 0)
            "left": np.where(self.done, 0, self.n_items - t).astype(np.float32),
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
