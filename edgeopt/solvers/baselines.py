"""Status-quo baselines: keep the full model at home, or send everything to the cloud."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edgeopt.core.problem import CLOUD, Problem
from edgeopt.errors import InputError
from edgeopt.solvers.base import SolveResult, finish, register
from edgeopt.solvers.heuristics import Loads

__all__ = ["no_downsizing", "cloud_only"]


def _need_scenario(problem: Problem, name: str) -> None:
    if "full_model" not in problem.col_info:
        raise InputError(f"solver {name!r} needs a scenario instance (it uses origins and full models)", field="solver")


@register("no-downsizing", "status quo: the full model on the request's origin controller, cloud when it does not fit")
def no_downsizing(problem: Problem, *, seed: int | None = None, time_limit_s: float | None = None, **_: Any) -> SolveResult:
    """Every request keeps its family's most accurate configuration on its origin.

    Requests are taken in file order; one whose origin column is not admissible
    or no longer fits goes to the cloud (error when there is no cloud).
    """
    t0 = time.perf_counter()
    _need_scenario(problem, "no-downsizing")
    settings = {"seed": seed, "time_limit_s": time_limit_s}
    info = problem.col_info
    home = info["full_model"] & (problem.col_bin == info["origin"])
    cloud_bin = problem.bin_ids.index(CLOUD) if CLOUD in problem.bin_ids else -1
    loads = Loads(problem)
    a = np.full(problem.n_items, -1, dtype=np.int64)
    for i in range(problem.n_items):
        lo, hi = int(problem.item_ptr[i]), int(problem.item_ptr[i + 1])
        cands = [lo + int(k) for k in np.flatnonzero(home[lo:hi])]
        cands += [lo + int(k) for k in np.flatnonzero(problem.col_bin[lo:hi] == cloud_bin)]
        for j in cands:
            if _fits(loads, j):
                a[i] = j
                loads.add(j)
                break
        else:
            return finish(problem, "no-downsizing", None, started=t0, status="error", settings=settings,
                          message=f"request {problem.item_ids[i]} fits neither at home nor in the cloud")
    return finish(problem, "no-downsizing", a, started=t0, settings=settings)


@register("cloud-only", "every request to the cloud with its family's most accurate configuration")
def cloud_only(problem: Problem, *, seed: int | None = None, time_limit_s: float | None = None, **_: Any) -> SolveResult:
    """The all-cloud plan (error when the scenario has no cloud or a link overflows)."""
    t0 = time.perf_counter()
    settings = {"seed": seed, "time_limit_s": time_limit_s}
    if CLOUD not in problem.bin_ids:
        return finish(problem, "cloud-only", None, started=t0, status="error", settings=settings,
                      message="the instance has no cloud")
    b = problem.bin_ids.index(CLOUD)
    a = np.full(problem.n_items, -1, dtype=np.int64)
    for i in range(problem.n_items):
        lo, hi = int(problem.item_ptr[i]), int(problem.item_ptr[i + 1])
        hit = np.flatnonzero(problem.col_bin[lo:hi] == b)
        a[i] = lo + hit[0] if hit.size else -1
    res = finish(problem, "cloud-only", a, started=t0, settings=settings)
    return res


def _fits(loads: Loads, j: int) -> bool:
    p = loads.p
    lo, hi = p.use.indptr[j], p.use.indptr[j + 1]
    ind = loads.indices[lo:hi]
    return bool(np.all(loads.load[ind] + loads.data[lo:hi] <= loads.limit[ind]))
