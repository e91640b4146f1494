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
#: The default budget without a time limit: value-guided beams of width 1, 2, 4, ... up to this,
#: each plan expanded into at most DEFAULT_EXPAND children per step, and DEFAULT_SAMPLES sampled
#: plans in rounds of SAMPLE_ROUND between them.
DEFAULT_BEAM, DEFAULT_EXPAND, DEFAULT_SAMPLES = 16, 4, 64
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
    "learned actor-critic, NumPy inference: greedy decoding, then sampled plans and beams the "
    "critic guides (width 2, 4, ... up to beam=16), then more samples until the time limit",
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
    samples: int = DEFAULT_SAMPLES,
    resample: int = 0,
    critic: bool = True,
    checkpoint: str | None = None,
    repair: bool = True,
) -> Outcome:
    """Decode plans with the trained actor-critic; keep the best; the evaluator referees it.

    The schedule, one fixed sequence for a given ``seed`` (docs/drl.md):

    1. greedy decoding (the actor's most probable fitting column for each item, the items in
       the env's order: the item of largest regret next, as the ``greedy`` heuristic);
    2. a round of :data:`SAMPLE_ROUND` plans sampled from the actor, then a beam of width 2;
       a round, a beam of width 4; ... up to width ``beam``, while the ``samples`` last (the
       rest of them after the widest beam). A beam expands each partial plan into its
       ``min(width, expand)`` most probable choices and keeps the ``width`` children of
       least Z so far + the critic's predicted cost-to-go (``critic=False``: of highest
       probability, the classic beam, the ablation). ``resample=N`` makes each round of
       samples critic-pruned particles (:func:`~edgeopt.policy.decode.particle_search`);
    3. under a time limit, rounds of samples until the limit.

    The time limit stops the schedule wherever it is, after the greedy decoding (which always
    finishes); the schedule is the same for every budget, so a larger budget never returns a
    worse plan on the same seed. ``beam=1, samples=0`` is greedy decoding. Only the best plan
    so far is kept. Status is ``feasible`` (never ``optimal``), or ``time_limit`` when the
    limit cut the default work short.

    When the greedy decoding gets stuck (an item with no fitting column), the documented
    repair, the ``greedy`` heuristic's plan, is taken at once and kept unless a decoded plan
    beats it; ``stats['repair']`` says when it is the answer, and ``repair=False`` reports
    ``error`` when no decoded plan completes.
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
    best, best_z, stuck = best_plan([greedy_batch])
    found_by, widths_done, drawn = "greedy", [1], 0
    repaired = None
    if best is None and repair:
        # the documented repair, taken at once so that it is a candidate at every budget (a
        # sampled plan found later replaces it only when better: larger budgets never end worse)
        repaired = get_solver("greedy")(problem, seed=seed)
        if repaired.assignment is not None and repaired.objective is not None:
            best, best_z, found_by = repaired.assignment, float(repaired.objective), "repair"

    def keep(run: Any, stage: str) -> None:
        """Take the run's best plan if it beats the best so far (only the best is kept)."""
        nonlocal best, best_z, stuck, found_by
        plan, z, n_stuck = best_plan([run])
        stuck += n_stuck
        if plan is not None and z < best_z - IMPROVE_TOL:
            best, best_z, found_by = plan, z, stage

    widths = beam_widths(problem.n_columns, max(1, int(beam)), int(expand))
    chunk = max(1, min(SAMPLE_CHUNK, SAMPLE_CELLS // max(1, problem.n_columns)))
    rng = np.random.default_rng(seed)
    rounds = -(-samples // SAMPLE_ROUND) if samples else 0
    # the schedule: a round of sampled plans before each wider beam, the rest of the
    # ``samples`` after the widest; then, under a time limit, rounds of samples until it
    stages: list[tuple[str, int]] = []
    n_rounds = 0
    for w in widths[1:]:
        if n_rounds < rounds:
            stages.append(("sample", 0))
            n_rounds += 1
        stages.append(("beam", w))
    stages += [("sample", 0)] * (rounds - n_rounds)

    def time_left() -> bool:
        return deadline is None or time.perf_counter() < deadline

    k = 0
    while time_left():
        if k < len(stages):
            kind, w = stages[k]
        elif deadline is not None and drawn + SAMPLE_ROUND <= SAMPLE_CAP:
            kind, w = "sample", 0
        else:
            break
        k += 1
        if kind == "beam":
            res = beam_search(
                policy, problem, w, order=order, deadline=deadline, value=critic, expand=expand
            )
            if not res.finished and not time_left():
                break
            widths_done.append(w)
            keep(res, f"beam {w}")
            continue
        n = min(chunk, SAMPLE_ROUND, max(samples - drawn, 0) or SAMPLE_ROUND)
        if critic and resample:
            run = particle_search(
                policy, problem, n, rng, order=order, deadline=deadline, resample=resample
            )
        else:
            run = rollout(policy, [problem] * n, rng, order=order, deadline=deadline)
        if not run.done.all():
            break
        drawn += n
        keep(run, "sampling")
    timed_out = widths_done[-1] < widths[-1] or drawn < samples
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
    if found_by == "repair":
        stats["repair"] = "greedy heuristic plan (every decoded plan got stuck)"
    if best is None:
        message = "every decoded plan got stuck (an item had no fitting column)"
        if repaired is not None:
            message = repaired.message or "the greedy heuristic found no plan either"
        return Outcome(None, status or "error", stats=stats, message=message)
    return Outcome(best, status, stats=stats)
