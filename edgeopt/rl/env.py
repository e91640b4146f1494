"""Planning as a Markov decision process over core problems (MODEL.md §5).

``PlanBatch`` steps many problems at once with numpy (training and decoding);
``PlanningEnv`` is the same dynamics behind the Gymnasium API, one problem at a time.

The process, for one problem
----------------------------
Items are visited in a fixed order (:func:`item_order`: decreasing mean
normalised size, i.e. the mean over the item's columns of the largest
capacity share ``max_l a_jl / cap_l``; ties by item index — big items first,
as in first-fit decreasing). Step ``t`` assigns the ``t``-th item.

Observation
    ``candidates`` (K, F): one row of :data:`FEATURES` per column of the
    current item (padded to K rows), computed from the core problem's arrays
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
from edgeopt.core.problem import Problem

__all__ = [
    "FEATURES",
    "GLOBALS",
    "STUCK_PENALTY",
    "PlanBatch",
    "PlanningEnv",
    "cost_scale",
    "item_order",
]

#: Per-candidate features (rows of ``candidates``), in order.
FEATURES = (
    "cost",  # c_j / scale
    "cost_above_item_min",  # (c_j - min over the item's columns) / scale
    "balance_increase",  # w_U * (U_after - U) / scale
    "dz_above_best",  # (ΔZ_j - min ΔZ over fitting columns) / scale
    "dz_rank",  # rank of ΔZ_j among fitting columns / number fitting
    "is_best",  # 1 for the fitting column of least ΔZ
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
)
N_FEATURES, N_GLOBALS = len(FEATURES), len(GLOBALS)
#: Stuck penalty per unassigned item, in units of the problem's cost scale.
STUCK_PENALTY = 2.0
_CLIP = 10.0


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
    size = np.bincount(problem.col_item, weights=share, minlength=problem.n_items) / np.maximum(counts, 1)
    return np.lexsort((np.arange(problem.n_items), -size)).astype(np.int64)


class PlanBatch:
    """Many problems stepped together; all share the step counter ``t``.

    Problems are concatenated (resources and columns offset per problem); each
    column's sparse use is held as R padded entries (``ell_idx``, ``ell_amt``)
    pointing at a dummy resource of infinite capacity where unused. Problem
    ``b`` is done after its last item or when stuck; later steps give it an
    empty mask and zero reward.

    :param problems: the problems (the same object may appear many times, e.g.
        for sampling several plans of one problem).
    :param pad_to: K (candidates per step) is rounded up to a multiple of this.
    """

    def __init__(self, problems: Sequence[Problem], *, pad_to: int = 8):
        self.problems = list(problems)
        B = len(self.problems)
        if B == 0:
            raise ValueError("PlanBatch needs at least one problem")
        self.B = B
        self.n_items = np.array([p.n_items for p in self.problems], dtype=np.int64)
        self.T = int(self.n_items.max())
        res_n = np.array([p.n_resources for p in self.problems], dtype=np.int64)
        col_n = np.array([p.n_columns for p in self.problems], dtype=np.int64)
        self.res_off = np.concatenate([[0], np.cumsum(res_n)]).astype(np.int64)
        self.col_off = np.concatenate([[0], np.cumsum(col_n)]).astype(np.int64)
        n_res, n_col = int(self.res_off[-1]), int(self.col_off[-1])
        self.dummy = n_res
        R = max(1, max(int(np.diff(p.use.indptr).max(initial=0)) for p in self.problems))
        self.ell_idx = np.full((n_col, R), self.dummy, dtype=np.int64)
        self.ell_amt = np.zeros((n_col, R))
        self.cap = np.concatenate([p.capacity for p in self.problems] + [[np.inf]])
        self.balanced = np.concatenate([p.balanced for p in self.problems] + [[False]])
        self.res_env = np.repeat(np.arange(B), res_n)
        self.cost = np.concatenate([p.col_cost for p in self.problems])
        self.w_u = np.array([p.balance_weight for p in self.problems])
        self.scale = np.array([cost_scale(p) for p in self.problems])
        bal_cap = []
        for p in self.problems:
            bal_cap.append(float(p.capacity[p.balanced].mean()) if p.balanced.any() else 1.0)
        self.bal_cap = np.array(bal_cap)
        self.bal_cap_max = np.array(
            [float(p.capacity[p.balanced].max()) if p.balanced.any() else 0.0 for p in self.problems]
        )
        k_max = max(int(np.diff(p.item_ptr).max(initial=1)) for p in self.problems)
        self.K = int(-(-k_max // pad_to) * pad_to)
        self.cand = np.full((B, self.T, self.K), -1, dtype=np.int64)
        self.order = []
        # Later-demand bookkeeping: each item's mean use per resource, as entries by step.
        steps, res, vals = [], [], []
        self.item_max_cost = np.zeros((B, self.T))
        for b, p in enumerate(self.problems):
            use = p.use
            counts = np.diff(use.indptr)
            pos = np.arange(use.nnz) - np.repeat(use.indptr[:-1], counts)
            cols = np.repeat(np.arange(p.n_columns), counts)
            self.ell_idx[self.col_off[b] + cols, pos] = self.res_off[b] + use.indices
            self.ell_amt[self.col_off[b] + cols, pos] = use.data
            order = item_order(p)
            self.order.append(order)
            ptr = p.item_ptr
            n_cols_item = np.diff(ptr)
            lo = ptr[order]
            k = np.arange(self.K)
            local = lo[:, None] + k[None, :]
            ok = k[None, :] < n_cols_item[order][:, None]
            self.cand[b, : p.n_items] = np.where(ok, self.col_off[b] + local, -1)
            if p.n_columns:
                mx = np.full(p.n_items, 0.0)
                ne = n_cols_item > 0
                mx[ne] = np.maximum.reduceat(p.col_cost, ptr[:-1][ne])
                self.item_max_cost[b, : p.n_items] = mx[order]
            # mean use of item i on resource l = Σ_{j of i} a_jl / n_cols(i)
            step_of_item = np.empty(p.n_items, dtype=np.int64)
            step_of_item[order] = np.arange(p.n_items)
            ent_item = p.col_item[cols]
            steps.append(step_of_item[ent_item])
            res.append(self.res_off[b] + use.indices)
            vals.append(use.data / np.maximum(n_cols_item[ent_item], 1))
        steps_a = np.concatenate(steps)
        srt = np.argsort(steps_a, kind="stable")
        self.dem_res = np.concatenate(res)[srt]
        self.dem_val = np.concatenate(vals)[srt]
        self.dem_ptr = np.searchsorted(steps_a[srt], np.arange(self.T + 1))
        # Σ over items from step t on of their most expensive column (for the stuck penalty).
        self.rest_max_cost = np.cumsum(self.item_max_cost[:, ::-1], axis=1)[:, ::-1]
        self.reset()

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Back to the empty plan."""
        self.t = 0
        self.load = np.zeros(self.cap.shape[0])
        self.u = np.zeros(self.B)
        self.done = self.n_items == 0
        self.stuck = np.zeros(self.B, dtype=bool)
        self.actions = np.full((self.B, self.T), -1, dtype=np.int64)
        self.chosen = np.full((self.B, self.T), -1, dtype=np.int64)
        self.demand = np.zeros(self.cap.shape[0])
        np.add.at(self.demand, self.dem_res, self.dem_val)
        self._take_demand(0)
        self._obs: dict[str, np.ndarray] | None = None

    def _take_demand(self, t: int) -> None:
        """Remove step ``t``'s items from the expected later demand."""
        if t < self.T:
            a, b = self.dem_ptr[t], self.dem_ptr[t + 1]
            np.add.at(self.demand, self.dem_res[a:b], -self.dem_val[a:b])

    def observe(self) -> dict[str, np.ndarray]:
        """``candidates`` (B, K, F) float32, ``mask`` (B, K) bool, ``state`` (B, G) float32."""
        if self._obs is not None:
            return self._obs
        B, K, t = self.B, self.K, self.t
        cand = self.cand[:, t, :] if t < self.T else np.full((B, K), -1, dtype=np.int64)
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
        rank = np.empty((B, K))
        np.put_along_axis(rank, np.argsort(dz_fit, axis=1, kind="stable"), np.arange(K, dtype=np.float64)[None, :], axis=1)
        press = np.where(real, (load + amt + self.demand[idx]) / cap, 0.0)
        n_real = np.maximum(real.sum(axis=2), 1)
        item_min = np.where(valid, cost, big).min(axis=1, keepdims=True)
        # Expected final bottleneck if the remaining demand spread evenly over balanced resources.
        bal_res = self.balanced[:-1]
        n_bal = np.maximum(np.bincount(self.res_env[bal_res], minlength=B), 1)
        u_exp = np.bincount(self.res_env[bal_res], weights=(self.load[:-1] + self.demand[:-1])[bal_res], minlength=B) / n_bal
        level = np.maximum(self.u, u_exp)[:, None]
        dzl = cost + self.w_u[:, None] * (np.maximum(level, u_after) - level)
        dzl_best = np.where(mask, dzl, big).min(axis=1, keepdims=True)
        feats = np.stack(
            [
                cost / s,
                (cost - np.where(np.isfinite(item_min), item_min, 0.0)) / s,
                self.w_u[:, None] * du / s,
                np.where(mask, dz - np.where(np.isfinite(best), best, 0.0), 0.0) / s,
                np.where(mask, rank / np.maximum(n_fit[:, None], 1), 1.0),
                (mask & (rank == 0)).astype(np.float64),
                left.max(axis=2),
                np.where(real, amt / cap, 0.0).sum(axis=2),
                np.where(real, after, 0.0).max(axis=2),
                np.where(real, load / cap, 0.0).max(axis=2),
                du / self.bal_cap[:, None],
                u_after / self.bal_cap[:, None],
                press.max(axis=2),
                press.sum(axis=2) / n_real,
                dzl / s,
                np.where(mask, dzl - np.where(np.isfinite(dzl_best), dzl_best, 0.0), 0.0) / s,
            ],
            axis=2,
        )
        feats = np.where(valid[:, :, None], feats, 0.0)
        feats = np.clip(np.nan_to_num(feats, nan=0.0, posinf=_CLIP, neginf=-_CLIP), -_CLIP, _CLIP)
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
            ],
            axis=1,
        )
        glob = np.clip(np.nan_to_num(glob, nan=0.0, posinf=_CLIP), -_CLIP, _CLIP)
        self._obs = {
            "candidates": feats.astype(np.float32),
            "mask": mask,
            "state": glob.astype(np.float32),
            "dz": dz,
            "dz_level": dzl,
        }
        return self._obs

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
        a = np.clip(actions, 0, self.K - 1)
        ok = active & (actions == a) & mask[np.arange(self.B), a]
        stuck = active & ~ok
        if ok.any():
            rows = np.flatnonzero(ok)
            j = self.cand[rows, t, a[rows]]
            reward[rows] = -obs["dz"][rows, a[rows]]
            np.add.at(self.load, self.ell_idx[j].ravel(), self.ell_amt[j].ravel())
            bal = self.balanced[self.ell_idx[j]]
            self.u[rows] = np.maximum(self.u[rows], np.where(bal, self.load[self.ell_idx[j]], -np.inf).max(axis=1))
            self.actions[rows, t] = a[rows]
            self.chosen[rows, t] = j
        if stuck.any():
            rows = np.flatnonzero(stuck)
            reward[rows] = -self.stuck_penalty(rows)
            self.stuck[rows] = True
        self.t += 1
        self.done = self.done | stuck | (self.t >= self.n_items)
        self._take_demand(self.t)
        self._obs = None
        return reward, self.done.copy()

    def stuck_penalty(self, rows: np.ndarray) -> np.ndarray:
        """Penalty (Z units) for getting stuck now at the current step."""
        t = self.t
        rest = self.n_items[rows] - t
        return (
            self.rest_max_cost[rows, t]
            + self.w_u[rows] * self.bal_cap_max[rows]
            + STUCK_PENALTY * self.scale[rows] * rest
        )

    def assignment(self, b: int) -> np.ndarray:
        """Column index per item of problem ``b`` (-1 where unassigned)."""
        p = self.problems[b]
        out = np.full(p.n_items, -1, dtype=np.int64)
        n = p.n_items
        ch = self.chosen[b, :n]
        out[self.order[b]] = np.where(ch >= 0, ch - self.col_off[b], -1)
        return out


class PlanningEnv(gym.Env):
    """Gymnasium environment over one core problem (or one drawn per reset from a list).

    See the module docstring for observations, constraints, finish and reward.
    ``info`` carries ``action_mask`` as well; at the end it also carries
    ``assignment`` (column per item, -1 where unassigned) and ``stuck``.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, problems: Problem | Sequence[Problem]):
        self.pool = [problems] if isinstance(problems, Problem) else list(problems)
        self._batches = [PlanBatch([p]) for p in self.pool]
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
        k = self.batch.K
        cand = np.zeros((self.K, N_FEATURES), dtype=np.float32)
        cand[:k] = o["candidates"][0]
        mask = np.zeros(self.K, dtype=np.int8)
        mask[:k] = o["mask"][0]
        return {"candidates": cand, "state": o["state"][0], "action_mask": mask}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        k = int(self.np_random.integers(len(self._batches))) if len(self._batches) > 1 else 0
        self.batch = self._batches[k]
        self.batch.reset()
        obs = self._obs()
        return obs, {"action_mask": obs["action_mask"].astype(bool)}

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        reward, done = self.batch.step(np.array([int(action)]))
        obs = self._obs()
        info: dict[str, Any] = {"action_mask": obs["action_mask"].astype(bool)}
        if done[0]:
            info["assignment"] = self.batch.assignment(0)
            info["stuck"] = bool(self.batch.stuck[0])
        return obs, float(reward[0]), bool(done[0]), False, info
