"""Decoding: turn a policy's scores into plans over a :class:`~edgeopt.policy.features.PolicyBatch`.

A policy is anything with ``logits(obs) -> (B, K)`` (:class:`~edgeopt.policy.network.Policy`):
the learned network, or :class:`FirstPass`, the regret greedy's own choice.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import IMPROVE_TOL
from edgeopt.policy.features import PolicyBatch

__all__ = ["Policy", "FirstPass", "choose", "rollout", "best_plan"]


class Policy(Protocol):
    """What decoding needs of a policy: scores per candidate, ``-inf`` or NEG outside
    ``obs['choice']``."""

    def logits(self, obs: dict[str, np.ndarray]) -> np.ndarray: ...


class FirstPass:
    """The regret greedy's first pass as a policy: the least-ΔZ fitting column of the env's item
    (the ablation the learned policy is measured against)."""

    def logits(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return np.where(obs["choice"], -obs["dz"], -np.inf)


def choose(
    logits: np.ndarray, choice: np.ndarray, rng: np.random.Generator | None = None
) -> np.ndarray:
    """One action per row: the best choice (``rng`` None) or a sample (Gumbel-max) from the
    softmax over ``choice``; 0 for a row without any (the env then marks it stuck)."""
    z = logits if rng is None else logits.astype(np.float64) + rng.gumbel(size=logits.shape)
    action = np.argmax(np.where(choice, z, -np.inf), axis=1)
    return np.where(choice[np.arange(choice.shape[0]), action], action, 0)


def rollout(
    policy: Policy,
    problems: list[Problem],
    rng: np.random.Generator | None = None,
    *,
    order: str = "regret",
    loads: list[np.ndarray | None] | None = None,
    deadline: float | None = None,
) -> PolicyBatch:
    """Decode ``problems`` with ``policy`` (anything with ``logits(obs)``): greedy when ``rng`` is
    None, else one sample per problem; ``loads`` as in :class:`~edgeopt.core.batch.PlanBatch`.
    Returns the :class:`~edgeopt.policy.features.PolicyBatch`, finished unless ``deadline`` (a
    ``time.perf_counter()`` value) passed first: rows not done then have no plan."""
    batch = PolicyBatch(problems, order=order, merge=rng is not None, loads=loads)
    while not batch.done.all():
        if deadline is not None and time.perf_counter() >= deadline:
            break
        obs = batch.observe()
        batch.step(choose(policy.logits(obs), obs["choice"], rng))
    return batch


def best_plan(batches: list[PolicyBatch]) -> tuple[np.ndarray | None, float, int]:
    """Over every row of the ``batches``: the plan of least Z (the env's exact Z, fixed loads
    included), that Z, and how many rows got stuck (or were stopped unfinished)."""
    best, best_z, stuck = None, np.inf, 0
    for batch in batches:
        for b in range(batch.B):
            if batch.stuck[b] or not batch.done[b]:
                stuck += 1
                continue
            z = batch.z(b)
            if z < best_z - IMPROVE_TOL:
                best, best_z = batch.assignment(b), z
    return best, best_z, stuck
