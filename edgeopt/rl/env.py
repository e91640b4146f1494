"""The planning process behind the Gymnasium API: one core problem at a time.

A thin adapter. The dynamics (which item is asked next, what fits, the reward
``-ΔZ``, getting stuck) are the plan-state engine's,
:class:`~edgeopt.core.batch.PlanBatch`, described there; the observation is
everything the shipped policy reads (:data:`~edgeopt.policy.network.INPUTS`,
see :mod:`edgeopt.policy.features`), padded to fixed shapes, plus
``action_mask`` for maskable agents. So the shipped policy runs through this
environment unchanged (add a batch axis and call its ``logits``).

Observation (K the widest item's columns rounded up to 8, L the most resources,
R the most resources one column uses, over the problems the env draws from)
    ``candidates`` (K, F), ``mask`` (K,), ``choice`` (K,), ``state`` (G,),
    ``resources`` (L, Fr), ``res_mask`` (L,), ``edge_res`` (K, R),
    ``edge_feats`` (K, R, Fe), ``edge_mask`` (K, R), ``action_mask`` (K,).
Action
    The index of one of the current item's columns (a row of ``candidates``).
Finish
    After the last item (``terminated``), or when stuck (``terminated``, with the
    engine's stuck penalty). There is no truncation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from edgeopt.core.problem import Problem
from edgeopt.policy.features import (
    CLIP,
    N_EDGE_FEATURES,
    N_FEATURES,
    N_GLOBALS,
    N_RES_FEATURES,
    PolicyBatch,
)
from edgeopt.policy.network import INPUTS

__all__ = ["PlanningEnv"]


class PlanningEnv(gym.Env):
    """Gymnasium environment over one core problem (or one drawn per reset from a list).

    ``info`` carries ``action_mask`` as well; at the end it also carries
    ``assignment`` (column per item, -1 where unassigned) and ``stuck``.

    :param merge: merge interchangeable candidates in ``choice`` (as sampling does); without it
        ``choice`` equals ``mask``.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self, problems: Problem | Sequence[Problem], *, order: str = "regret", merge: bool = True
    ):
        self.pool = [problems] if isinstance(problems, Problem) else list(problems)
        self._batches = [PolicyBatch([p], order=order, merge=merge) for p in self.pool]
        K = max(b.K for b in self._batches)
        L = max(b.L for b in self._batches)
        R = max(b.ell_idx.shape[1] for b in self._batches)
        self.K, self.L, self.R = K, L, R

        def box(*shape: int) -> spaces.Box:
            return spaces.Box(-CLIP, CLIP, shape=shape, dtype=np.float32)

        self.observation_space: spaces.Dict = spaces.Dict(
            {
                "candidates": box(K, N_FEATURES),
                "mask": spaces.MultiBinary(K),
                "choice": spaces.MultiBinary(K),
                "state": box(N_GLOBALS),
                "resources": box(L, N_RES_FEATURES),
                "res_mask": spaces.MultiBinary(L),
                "edge_res": spaces.Box(0, max(L - 1, 0), shape=(K, R), dtype=np.int32),
                "edge_feats": box(K, R, N_EDGE_FEATURES),
                "edge_mask": spaces.MultiBinary([K, R]),
                "action_mask": spaces.MultiBinary(K),
            }
        )
        self.action_space = spaces.Discrete(K)
        self.batch = self._batches[0]

    def _obs(self) -> dict[str, np.ndarray]:
        """The batch's observation of its one problem, padded to the spaces' shapes."""
        o = self.batch.observe()
        out: dict[str, np.ndarray] = {}
        for key in INPUTS:
            space = self.observation_space.spaces[key]
            arr: np.ndarray = np.zeros(space.shape or (), dtype=space.dtype or np.float32)
            src = o[key][0]
            arr[tuple(slice(0, n) for n in src.shape)] = src
            out[key] = arr
        out["action_mask"] = out["mask"].copy()
        return out

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
