"""Imitation data: the env walked along proven optimal plans (teacher forcing).

At each step the env asks about one item (its regret rule); the teacher's answer
is the column the optimal plan gives that item. Because interchangeable columns
are merged into one choice (``obs['rep']``), every column equivalent to the
optimum's counts as the same, correct, answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from edgeopt.core.plan import PlanState
from edgeopt.core.problem import Problem
from edgeopt.policy.decode import rollout
from edgeopt.policy.features import PolicyBatch
from edgeopt.policy.network import CANDIDATE_INPUTS, INPUTS, RESOURCE_INPUTS
from edgeopt.solvers.highs import HighsOptions
from edgeopt.solvers.lns import restrict
from edgeopt.solvers.milp import solve_model

__all__ = ["crop", "collect", "pad", "batches", "exact_completions"]


def crop(obs: dict[str, np.ndarray], b: int, k: int, n_res: int) -> dict[str, np.ndarray]:
    """Row ``b`` of a batched observation's network inputs, cropped to its ``k`` candidates
    and ``n_res`` resources."""
    out = {}
    for key in INPUTS:
        n = k if key in CANDIDATE_INPUTS else n_res if key in RESOURCE_INPUTS else None
        out[key] = obs[key][b] if n is None else obs[key][b, :n]
    return out


def collect(
    problems: Sequence[Problem],
    plans: Sequence[np.ndarray],
    *,
    order: str = "regret",
    record_from: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Teacher-forced steps of every problem along its plan, each with two labels:

    - ``target``: the actor's, the position of the first candidate of the teacher column's
      class; ``pi`` is false for a step with a single choice (nothing to learn there);
    - ``ctg``: the critic's, the plan's cost still to come from this state, in units of the
      problem's cost scale: (Z of the whole plan − Z of the partial plan before the step) /
      scale, the value head's target ``v_target``. Along an optimal plan, or a prefix of the
      policy's own completed exactly by the MILP (:func:`exact_completions`), it is the
      optimal cost-to-go.

    The steps of problem ``b`` before ``record_from[b]`` are kept out."""

    batch = PolicyBatch(list(problems), order=order)
    out: list[dict[str, Any]] = []
    n_res = [p.n_resources for p in problems]
    while not batch.done.all():
        obs = batch.observe()
        items = batch.current_item()
        action = np.zeros(batch.B, dtype=np.int64)
        for b in np.flatnonzero(~batch.done).tolist():
            p, i = problems[b], int(items[b])
            j = int(plans[b][i])
            lo, hi = int(p.item_ptr[i]), int(p.item_ptr[i + 1])
            if not lo <= j < hi:
                raise ValueError(f"{p.name}: the plan's column {j} is not one of item {i}'s")
            k = j - lo
            if not obs["mask"][b, k]:
                raise ValueError(f"{p.name}: the plan's column for item {i} does not fit")
            action[b] = k
            target = int(obs["rep"][b, k])
            late = record_from is None or batch.t >= record_from[b]
            if late:
                out.append(
                    {
                        **crop(obs, b, hi - lo, n_res[b]),
                        "target": target,
                        "pi": int(obs["choice"][b].sum()) >= 2,
                        "left": float(obs["left"][b]),
                        "z_before": batch.z(b),
                        "problem": b,
                    }
                )
        batch.step(action)
    if batch.stuck.any():  # cannot happen for feasible plans
        raise ValueError("a teacher plan got stuck")
    z_final = [batch.z(b) for b in range(batch.B)]
    for s in out:
        b = s["problem"]
        s["ctg"] = (z_final[b] - s.pop("z_before")) / float(batch.scale[b])
        s["v_target"] = s["ctg"]
    return out


def pad(samples: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Stack samples into one batch, padding candidates and resources (masks false there)."""
    n = len(samples)
    K = max(s["candidates"].shape[0] for s in samples)
    L = max(s["resources"].shape[0] for s in samples)
    R = max(s["edge_res"].shape[1] for s in samples)
    first = samples[0]
    out: dict[str, np.ndarray] = {
        "candidates": np.zeros((n, K, first["candidates"].shape[1]), np.float32),
        "mask": np.zeros((n, K), bool),
        "choice": np.zeros((n, K), bool),
        "state": np.stack([s["state"] for s in samples]).astype(np.float32),
        "resources": np.zeros((n, L, first["resources"].shape[1]), np.float32),
        "res_mask": np.zeros((n, L), bool),
        "edge_res": np.zeros((n, K, R), np.int32),
        "edge_feats": np.zeros((n, K, R, first["edge_feats"].shape[2]), np.float32),
        "edge_mask": np.zeros((n, K, R), bool),
    }
    for r, s in enumerate(samples):
        k, l_, rr = s["candidates"].shape[0], s["resources"].shape[0], s["edge_res"].shape[1]
        out["candidates"][r, :k] = s["candidates"]
        out["mask"][r, :k] = s["mask"]
        out["choice"][r, :k] = s["choice"]
        out["resources"][r, :l_] = s["resources"]
        out["res_mask"][r, :l_] = s["res_mask"]
        out["edge_res"][r, :k, :rr] = s["edge_res"]
        out["edge_feats"][r, :k, :rr] = s["edge_feats"]
        out["edge_mask"][r, :k, :rr] = s["edge_mask"]
    if "target" in first:
        out["target"] = np.array([s["target"] for s in samples], dtype=np.int32)
    for key in ("pi", "v_target", "left"):
        if key in first:
            out[key] = np.array([s[key] for s in samples], dtype=np.float32)
    return out


def batches(
    samples: Sequence[dict[str, Any]], size: int, rng: np.random.Generator
) -> list[list[int]]:
    """Minibatches of sample indices of similar candidate counts (less padding), in random order."""
    k = np.array([s["candidates"].shape[0] for s in samples])
    idx = np.lexsort((rng.random(len(samples)), k))
    groups = [idx[a : a + size].tolist() for a in range(0, len(idx), size)]
    return [groups[g] for g in rng.permutation(len(groups))]


def exact_completions(
    policy: Any,
    problems: Sequence[Problem],
    rng: np.random.Generator,
    *,
    order: str = "regret",
    time_limit_s: float = 5.0,
    progress: bool = False,
) -> tuple[list[Problem], list[np.ndarray], list[int], dict[str, int]]:
    """DAgger's expert on the policy's own states: decode each problem with ``policy``, cut its
    plan at a random step t, and complete the open items by the MILP with the first t choices
    fixed (their loads constant). Returns (problems, plans, t per problem, counts); the plan is
    the policy's first t columns then the exact completion, so :func:`collect` with
    ``record_from=t`` labels states the policy itself reaches."""

    batch = rollout(policy, list(problems), order=order)
    out_p, out_plan, out_t = [], [], []
    counts = {"states": 0, "proven": 0, "improved": 0}
    todo: Any = enumerate(problems)
    if progress:
        import sys

        from tqdm import tqdm

        todo = tqdm(
            todo, total=len(problems), desc="dagger completions", leave=False, file=sys.stderr
        )
    for b, p in todo:
        n = p.n_items
        if batch.stuck[b] or n < 3:
            continue
        t = int(rng.integers(1, n - 1))
        items = batch.items[b, :n]
        plan = batch.assignment(b)
        st = PlanState(p, plan)
        free = np.sort(items[t:])
        fixed = st.load.copy()
        for i in free:
            r, v = st.column_use(int(plan[i]))
            fixed[r] -= v
        np.maximum(fixed, 0.0, out=fixed)
        cand = np.flatnonzero(np.isin(p.col_item, free))
        keep = np.zeros(p.n_columns, dtype=bool)
        keep[cand[st.fits(cand, fixed)]] = True
        keep[plan[free]] = True  # the policy's own completion stays a solution
        sub, cols = restrict(p, free, keep)
        start = np.searchsorted(cols, plan[free])
        res, sub_a, _ = solve_model(
            sub,
            HighsOptions(time_limit_s=time_limit_s, threads=1, seed=0),
            start=start,
            fixed_load=fixed,
        )
        if sub_a is None:
            continue
        new = plan.copy()
        new[free] = cols[sub_a]
        counts["states"] += 1
        counts["proven"] += bool(res.proven_optimal)
        counts["improved"] += bool(not np.array_equal(new, plan))
        out_p.append(p)
        out_plan.append(new)
        out_t.append(t)
    return out_p, out_plan, out_t, counts
