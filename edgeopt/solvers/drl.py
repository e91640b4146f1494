"""The learned planner as a solver: greedy decoding, value-guided beam search and sampling, in NumPy.

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
from edgeopt.core.tolerances import IMPROVE_TOL
from edgeopt.errors import InputError
from edgeopt.policy.checkpoint import checkpoint_sha256, load_policy
from edgeopt.policy.decode import beam_search, best_plan, particle_search, rollout
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
#: The default budget without a time limit: value-guided beams of width 1, 2, 4, ... up to this,
#: each plan expanded into at most DEFAULT_EXPAND children per step.
DEFAULT_BEAM, DEFAULT_EXPAND = 16, 4
#: Sampled plans per round once the widest beam is done, under a time limit; at most
#: SAMPLE_CAP in all (a long limit on a small problem stops there, not at the limit).
SAMPLE_ROUND, SAMPLE_CAP = 16, 100_000


def beam_widths(n_columns: int, widest: int, expand: int = DEFAULT_EXPAND) -> list[int]:
    """The schedule's beam widths: 1 (greedy decoding), 2, 4, ... up to ``widest``, and no wider
    than memory allows (a width-w beam holds w × min(w, expand) plans of ``n_columns`` columns)."""
    e = max(1, int(expand))
    cap = max(1, int(SAMPLE_CELLS / max(1, n_columns) / e))
    widths, w = [], 1
    while w <= min(widest, cap):
        widths.append(w)
        w *= 2
    return widths


def _weights(settings: dict[str, Any]) -> dict[str, Any]:
    """Results of drl depend on the weights, not only on the checkpoint's path."""
    return {"checkpoint_sha256": checkpoint_sha256(settings.get("checkpoint"))}


def _repair(settings: dict[str, Any], deadline_end: float | None) -> Any:
    """``drl+lns``: the learned constructor repairs each neighbourhood first."""
    return learned_repair(settings.get("checkpoint"), deadline=deadline_end)


@register(
    "drl",
    "learned planner, NumPy inference: value-guided beams of width 1 (greedy), 2, 4, ... up to "
    "beam=16 (the critic ranks partial plans), then sampled plans until the time limit",
    fingerprint=_weights,
    repair=_repair,
)
def drl(
    problem: Problem,
    *,
    seed: int | None = None,
    time_limit_s: float | None = None,
    beam: int = DEFAULT_BEAM,
    expand: int = DEFAULT_EXPAND,
    samples: int = 0,
    resample: int = 4,
    critic: bool = True,
    checkpoint: str | None = None,
    repair: bool = True,
) -> Outcome:
    """Decode plans with the trained actor-critic; keep the best; the evaluator referees it.

    The schedule, one fixed sequence for a given ``seed`` (docs/drl.md):

    1. greedy decoding (the actor's most probable fitting column for each item, the items in
       the env's order: the item of largest regret next, as the ``greedy`` heuristic);
    2. beam search of width 2, 4, 8, ... up to ``beam``: each partial plan is expanded into
       its ``min(width, expand)`` most probable choices and the ``width`` children of least
       Z so far + the critic's predicted cost-to-go go on (``critic=False``: of highest
       probability, the classic beam, the ablation);
    3. ``samples`` plans sampled from the actor; under a time limit, sampling goes on in
       rounds of :data:`SAMPLE_ROUND` until the limit.

    The time limit stops the schedule wherever it is, after the greedy decoding (which always
    finishes); the schedule is the same for every budget, so a larger budget never returns a
    worse plan on the same seed. ``beam=0`` or
    ``beam=1`` is greedy decoding (plus samples). Status is ``feasible`` (never ``optimal``),
    or ``time_limit`` when the limit cut the default work short.

    When every decoded plan gets stuck (an item with no fitting column), the documented
    repair is the ``greedy`` heuristic's plan; ``stats['repair']`` says so, and
    ``repair=False`` reports ``error`` instead.
    """
    t0 = time.perf_counter()
    samples = int(samples or 0)
    if samples < 0:
        raise InputError("must be >= 0", field="samples")
    if int(beam) < 0:
        raise InputError("must be >= 0", field="beam")
    if int(expand) < 1:
        raise InputError("must be >= 1", field="expand")
    resample = int(resample)
    if resample < 0:
        raise InputError("must be >= 0", field="resample")
    policy, order = load_policy(checkpoint)

    t_load = time.perf_counter() - t0
    deadline = None if time_limit_s is None else t0 + time_limit_s
    # greedy decoding always finishes, whatever the limit: every budget starts from its plan,
    # so a larger budget never ends worse
    greedy_batch = rollout(policy, [problem], order=order)
    runs: list[Any] = [greedy_batch]
    best_z = best_plan(runs)[1]
    found_by, widths_done = "greedy", [1]
    widths = beam_widths(problem.n_columns, max(1, int(beam)), int(expand))
    for w in widths[1:]:
        if deadline is not None and time.perf_counter() >= deadline:
            break
        res = beam_search(
            policy, problem, w, order=order, deadline=deadline, value=critic, expand=expand
        )
        if not res.finished and deadline is not None and time.perf_counter() >= deadline:
            break
        runs.append(res)
        widths_done.append(w)
        z = best_plan([res])[1]
        if z < best_z - IMPROVE_TOL:
            best_z, found_by = z, f"beam {w}"
    drawn = 0
    chunk = max(1, min(SAMPLE_CHUNK, SAMPLE_CELLS // max(1, problem.n_columns)))
    rng = np.random.default_rng(seed)
    while deadline is None or time.perf_counter() < deadline:
        if drawn >= samples and (deadline is None or drawn + SAMPLE_ROUND > SAMPLE_CAP):
            break
        n = min(chunk, samples - drawn) if drawn < samples else min(chunk, SAMPLE_ROUND)
        if critic and resample:
            run = particle_search(
                policy, problem, n, rng, order=order, deadline=deadline, resample=resample
            )
        else:
            run = rollout(policy, [problem] * n, rng, order=order, deadline=deadline)
        if not run.done.all():
            break
        runs.append(run)
        drawn += n
        z = best_plan([run])[1]
        if z < best_z - IMPROVE_TOL:
            best_z, found_by = z, "sampling"
    timed_out = widths_done[-1] < widths[-1] or drawn < samples
    best, _, stuck = best_plan(runs)
    greedy_done = bool(greedy_batch.done[0] and not greedy_batch.stuck[0])
    stats: dict[str, Any] = {
        "beam_widths": widths_done,
        "critic": bool(critic),
        "sampled_plans": drawn,
        "stuck_plans": stuck,
        "found_by": found_by if best is not None else None,
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
