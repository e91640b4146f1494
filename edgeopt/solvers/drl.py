"""The learned planner as a solver: greedy or best-of-N sampled decoding, in NumPy.

The checkpoint's exported weights (``policy.npz``) run in :mod:`edgeopt.policy.network`;
TensorFlow is never imported here (it is the training framework only).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.core.problem import Problem
from edgeopt.core.result import Outcome, Status
from edgeopt.errors import InputError
from edgeopt.policy.checkpoint import checkpoint_sha256, load_policy
from edgeopt.policy.decode import best_plan, rollout
from edgeopt.solvers.registry import get_solver, register

__all__ = ["drl", "learned_repair"]


def learned_repair(
    checkpoint: str | Path | None = None, samples: int = 8, deadline: float | None = None
) -> Any:
    """The LNS repair step of ``drl+lns``: ``repair(sub, fixed_load, rng)`` decodes the freed
    items of ``sub`` on top of ``fixed_load`` (greedy and ``samples`` sampled plans, one batch)
    and returns the columns of the best complete plan, or None when all got stuck or
    ``deadline`` (a ``time.perf_counter()`` value) passed first."""
    policy, order = load_policy(checkpoint)

    def repair(sub: Problem, fixed: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
        runs = [rollout(policy, [sub], order=order, loads=[fixed], deadline=deadline)]
        if samples:
            many = [sub] * samples
            runs.append(
                rollout(policy, many, rng, order=order, loads=[fixed] * samples, deadline=deadline)
            )
        return best_plan(runs)[0]

    return repair


#: Sampled plans decoded in one batch at most, and plans × columns per batch at most (each plan
#: costs about 0.5 kB per column: 2·10⁶ cells are about 1 GB).
SAMPLE_CHUNK, SAMPLE_CELLS = 256, 2_000_000
#: Time the greedy repair gets when decoding used up the limit (it plans c50-r400 in milliseconds).
MIN_REPAIR_S = 0.5


def _weights(settings: dict[str, Any]) -> dict[str, Any]:
    """Results of drl depend on the weights, not only on the checkpoint's path."""
    return {"checkpoint_sha256": checkpoint_sha256(settings.get("checkpoint"))}


def _repair(settings: dict[str, Any], deadline_end: float | None) -> Any:
    """``drl+lns``: the learned constructor repairs each neighbourhood first."""
    return learned_repair(settings.get("checkpoint"), deadline=deadline_end)


@register(
    "drl",
    "learned planner, NumPy inference (greedy decoding; samples=N: best of N sampled plans)",
    fingerprint=_weights,
    repair=_repair,
)
def drl(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    samples: int = 0,
    checkpoint: str | None = None,
    repair: bool = True,
) -> Outcome:
    """Decode a plan with the trained policy; the evaluator referees it.

    Greedy decoding takes the most probable fitting column for each item, the
    items taken in the env's dynamic order (by default the item of largest
    regret among fitting columns next, as the ``greedy`` heuristic does). With ``samples=N`` (N ≥ 1) it also draws N
    plans from the policy (seeded by ``seed``) in one batch and keeps the best
    feasible one of the N + 1. Status is ``feasible`` (never ``optimal``).

    When every decoded plan gets stuck (an item with no fitting column), the
    documented repair is the ``greedy`` heuristic's plan; ``stats['repair']``
    says so, and ``repair=False`` reports ``error`` instead.
    """
    t0 = time.perf_counter()
    samples = int(samples or 0)
    if samples < 0:
        raise InputError("must be >= 0", field="samples")
    policy, order = load_policy(checkpoint)

    t_load = time.perf_counter() - t0
    deadline = None if time_limit_s is None else t0 + time_limit_s
    greedy_batch = rollout(policy, [problem], order=order, deadline=deadline)
    runs = [greedy_batch]
    drawn = 0
    if samples:
        # in chunks, so memory stays bounded (about 0.5 kB per column per plan) and the time
        # limit is checked between and within them
        chunk = max(1, min(SAMPLE_CHUNK, SAMPLE_CELLS // max(1, problem.n_columns)))
        rng = np.random.default_rng(seed)
        while drawn < samples and (deadline is None or time.perf_counter() < deadline):
            n = min(chunk, samples - drawn)
            runs.append(rollout(policy, [problem] * n, rng, order=order, deadline=deadline))
            drawn += n
    timed_out = any(not r.done.all() for r in runs) or drawn < samples
    best, _, stuck = best_plan(runs)
    greedy_done = bool(greedy_batch.done[0] and not greedy_batch.stuck[0])
    stats: dict[str, Any] = {
        "plans": 1 + drawn,
        "stuck_plans": stuck,
        "load_s": round(t_load, 4),
        "greedy_objective": greedy_batch.z(0) if greedy_done else None,
    }
    status: Status | None = "time_limit" if timed_out else None
    if timed_out:
        stats["stopped"] = "time limit"
    if best is None:
        if not repair:
            return Outcome(
                None,
                status or "error",
                stats=stats,
                message="no decoded plan within the time limit"
                if timed_out
                else "every decoded plan got stuck (an item had no fitting column)",
            )
        left = None if deadline is None else max(deadline - time.perf_counter(), MIN_REPAIR_S)
        fallback = get_solver("greedy")(problem, seed=seed, time_limit_s=left)
        stats["repair"] = "greedy heuristic plan (every decoded plan got stuck or was stopped)"
        return Outcome(
            fallback.assignment,
            status,
            stats=stats,
            message="" if fallback.assignment is not None else fallback.message,
        )
    return Outcome(best, status, stats=stats)
