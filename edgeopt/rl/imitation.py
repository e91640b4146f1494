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

from edgeopt.core.problem import Problem

__all__ = ["STEP_KEYS", "collect", "pad", "batches"]

#: Per-step observation arrays kept (cropped to the step's own K candidates and L resources).
STEP_KEYS = (
    "candidates",
    "mask",
    "choice",
    "state",
    "resources",
    "res_mask",
    "edge_res",
    "edge_feats",
    "edge_mask",
)


def crop(obs: dict[str, np.ndarray], b: int, k: int, n_res: int) -> dict[str, np.ndarray]:
    """Row ``b`` of a batched observation, cropped to its ``k`` candidates and ``n_res`` resources."""
    return {
        "candidates": obs["candidates"][b, :k],
        "mask": obs["mask"][b, :k],
        "choice": obs["choice"][b, :k],
        "state": obs["state"][b],
        "resources": obs["resources"][b, :n_res],
        "res_mask": obs["res_mask"][b, :n_res],
        "edge_res": obs["edge_res"][b, :k],
        "edge_feats": obs["edge_feats"][b, :k],
        "edge_mask": obs["edge_mask"][b, :k],
    }


def collect(
    problems: Sequence[Problem], plans: Sequence[np.ndarray], *, order: str = "regret"
) -> list[dict[str, Any]]:
    """Teacher-forced steps of every problem along its plan: observation and target position
    (the first candidate of the teacher column's class). Steps with a single choice are kept
    out (nothing to learn)."""
    from edgeopt.rl.env import PlanBatch

    batch = PlanBatch(list(problems), order=order)
    out: list[dict[str, Any]] = []
    n_res = [p.n_resources for p in problems]
    while not batch.done.all():
        obs = batch.observe()
        items = batch.current_item()
        action = np.zeros(batch.B, dtype=np.int64)
        for b in np.flatnonzero(~batch.done):
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
            if int(obs["choice"][b].sum()) >= 2:
                out.append({**crop(obs, b, hi - lo, n_res[b]), "target": target, "problem": b})
        batch.step(action)
    if batch.stuck.any():  # cannot happen for feasible plans
        raise ValueError("a teacher plan got stuck")
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
    return out


def batches(
    samples: Sequence[dict[str, Any]], size: int, rng: np.random.Generator
) -> list[list[int]]:
    """Minibatches of sample indices of similar candidate counts (less padding), in random order."""
    k = np.array([s["candidates"].shape[0] for s in samples])
    idx = np.lexsort((rng.random(len(samples)), k))
    groups = [idx[a : a + size].tolist() for a in range(0, len(idx), size)]
    return [groups[g] for g in rng.permutation(len(groups))]
