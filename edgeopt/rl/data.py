"""Instances for training and evaluating the planner: the training distribution,
fixed validation / held-out sets, and a JSON cache of their MILP optima.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.core.compile import compile_scenario
from edgeopt.core.problem import Problem
from edgeopt.data import display_path
from edgeopt.errors import SolverError
from edgeopt.jsonio import write_json_atomic
from edgeopt.scenario.generate import GeneratorConfig, generate
from edgeopt.scenario.schema import DEFAULT_CATALOG, DEFAULT_DEVICES, load_catalog, load_devices
from edgeopt.scenario.suites import LOW, MIXED
from edgeopt.solvers.registry import get_solver

__all__ = [
    "Distribution",
    "Sources",
    "fingerprint",
    "milp_optima",
    "VALIDATION_SEED",
    "HELD_OUT_SEED",
    "LARGE_SEED",
    "TEACHER_SEED",
    "OPTIMA_FORMAT",
    "teacher_problems",
    "mixed_problems",
]

#: Seed bases of the fixed instance sets (training seeds count up from the run's seed × 10⁶).
VALIDATION_SEED, HELD_OUT_SEED, LARGE_SEED = 900_000_000, 910_000_000, 920_000_000
#: ``format`` of an optima cache file (``--teacher-cache``, ``--val-cache``).
OPTIMA_FORMAT = "edgeopt-drl-optima/1"
#: Seed base of the imitation (teacher) instances, solved to proven optimality once and cached.
TEACHER_SEED = 930_000_000


@dataclass
class Sources:
    """Catalog and devices the scenarios are generated from (default: the shipped ones)."""

    catalog_path: str
    devices_path: str
    catalog: dict[str, Any]
    devices: dict[str, dict[str, Any]]

    @classmethod
    def resolve(cls, catalog: str | None = None, devices: str | None = None) -> Sources:
        cat_path = str(catalog or DEFAULT_CATALOG)
        dev_path = str(devices or DEFAULT_DEVICES)
        return cls(cat_path, dev_path, load_catalog(cat_path), load_devices(dev_path))

    def describe(self) -> dict[str, Any]:
        return {
            "catalog": display_path(self.catalog_path),
            "devices": display_path(self.devices_path),
        }


@dataclass
class Distribution:
    """The training distribution of generated scenarios (sizes chosen so the MILP proves optima in seconds)."""

    #: controllers drawn uniformly from this closed range
    controllers: tuple[int, int] = (4, 8)
    #: requests per controller drawn uniformly from this closed range (then rounded)
    requests_per_controller: tuple[float, float] = (3.0, 5.0)
    #: capacity_scale drawn from these values
    capacity_scales: tuple[float, ...] = (0.75, 1.0)
    #: load_factor drawn uniformly from this range
    load_factor: tuple[float, float] = (0.8, 1.0)
    #: multiplies controllers and requests (2 = "twice as large")
    size_factor: int = 1

    def config(self, seed: int, devices: dict[str, Any] | None = None) -> GeneratorConfig:
        """The generator settings of instance ``seed`` (every draw from ``default_rng([seed, 7])``).

        The device mix is the suites' mixed or low-end mix, restricted to the
        profiles in ``devices``; uniform over ``devices`` when none of them is known.
        """
        rng = np.random.default_rng([seed, 7])
        c0 = int(rng.integers(self.controllers[0], self.controllers[1] + 1))
        r0 = int(round(c0 * rng.uniform(*self.requests_per_controller)))
        c, r = c0 * self.size_factor, r0 * self.size_factor
        mix = dict(MIXED if rng.random() < 0.6 else LOW)
        if devices is not None:
            mix = {k: v for k, v in mix.items() if k in devices} or {
                k: 1.0 for k in sorted(devices)
            }
        scale = float(self.capacity_scales[int(rng.integers(len(self.capacity_scales)))])
        load = float(round(rng.uniform(*self.load_factor), 3))
        return GeneratorConfig(
            seed=seed,
            controllers=c,
            gnbs=2,
            requests=r,
            device_mix=mix,
            capacity_scale=scale,
            load_factor=load,
            name=f"drl-c{c}-r{r}-s{seed}",
        )

    def problems(self, sources: Sources, seeds: list[int] | range) -> list[Problem]:
        """Generate and compile the scenarios of ``seeds`` (problems with an empty item are skipped)."""
        out = []
        for s in seeds:
            p = compile_scenario(
                generate(self.config(int(s), sources.devices), sources.catalog, sources.devices)
            )
            if not p.empty_items:
                out.append(p)
        return out

    def describe(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def mixed_problems(
    dist: Distribution, sources: Sources, seeds: Sequence[int], *, large_every: int = 4
) -> list[Problem]:
    """The instances of ``seeds``: the ``k``-th at twice ``dist``'s size when
    k % large_every == large_every - 1 (0: none larger), so training spans the benchmark's sizes."""
    out = []
    large = Distribution(**{**dist.__dict__, "size_factor": 2 * dist.size_factor})
    for k, seed in enumerate(seeds):
        d = large if large_every and k % large_every == large_every - 1 else dist
        out += d.problems(sources, [int(seed)])
    return out


def teacher_problems(
    dist: Distribution, sources: Sources, n: int, *, large_every: int = 4
) -> list[Problem]:
    """The first ``n`` imitation instances: :func:`mixed_problems` of seeds ``TEACHER_SEED + k``."""
    return mixed_problems(
        dist, sources, range(TEACHER_SEED, TEACHER_SEED + n), large_every=large_every
    )


def fingerprint(problem: Problem) -> str:
    """Short hash of a problem's arrays: a cached optimum is reused only for the same numbers."""
    h = hashlib.sha256()
    for arr in (
        problem.item_ptr,
        problem.col_cost,
        problem.use.indices,
        problem.use.data,
        problem.capacity,
        problem.balanced.astype(np.int8),
    ):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(repr(problem.balance_weight).encode())
    return h.hexdigest()[:16]


def milp_optima(
    problems: list[Problem],
    cache: str | Path,
    *,
    time_limit_s: float = 60.0,
    progress: bool = False,
    assignments: bool = False,
    shipped: str | Path | None = None,
) -> dict[str, dict[str, Any]]:
    """MILP results by problem name (objective, status, wall_s), cached in JSON by fingerprint.

    Only the MILP's own status is kept: callers use an objective as an optimum
    only when the status is ``optimal`` (proven). With ``assignments=True`` each
    entry also keeps the plan (column index per item; the fingerprint pins the
    column layout), as imitation learning needs; a cached entry without one is re-solved.
    ``shipped`` is a read-only cache consulted too (e.g. the package's): only ``cache`` is
    written, and only when something had to be solved.
    """

    path = Path(cache)
    known: dict[str, dict[str, Any]] = {}
    for src in ([Path(shipped)] if shipped is not None else []) + [path]:
        if src.exists():  # entries of ``cache`` win over the shipped ones
            try:
                known |= json.loads(src.read_text(encoding="utf-8")).get("optima", {})
            except (json.JSONDecodeError, AttributeError, TypeError):
                pass
    milp = get_solver("milp")
    out: dict[str, dict[str, Any]] = {}
    todo = problems
    if progress:
        from tqdm import tqdm

        todo = tqdm(problems, desc="milp optima", unit="inst", leave=False)
    for p in todo:
        fp = fingerprint(p)
        hit = known.get(p.name)
        if (
            hit
            and hit.get("fingerprint") == fp
            and (hit["status"] == "optimal" or hit.get("time_limit_s", 0) >= time_limit_s)
            and (not assignments or "assignment" in hit)
        ):
            out[p.name] = hit
            continue
        t0 = time.perf_counter()
        try:
            res = milp(p, time_limit_s=time_limit_s, warm_start="greedy")
            status, objective, bound = res.status, res.objective, res.bound
            plan = None if res.assignment is None else [int(j) for j in res.assignment]
        except SolverError as exc:  # e.g. the referee disagreeing with the MILP: no usable optimum
            status, objective, bound, plan = "error", None, None, None
            print(f"{p.name}: milp failed: {exc}", file=sys.stderr)
        out[p.name] = known[p.name] = {
            "fingerprint": fp,
            "status": status,
            "objective": objective,
            "bound": bound,
            "wall_s": round(time.perf_counter() - t0, 4),
            "time_limit_s": time_limit_s,
        }
        if assignments:
            known[p.name]["assignment"] = plan
        # saved after every solve: an interrupted run keeps what it finished and resumes
        write_json_atomic(path, {"format": OPTIMA_FORMAT, "optima": dict(sorted(known.items()))})
    return out
