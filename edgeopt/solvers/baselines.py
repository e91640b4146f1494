"""Status-quo baselines: keep the full model at home, or send everything to the cloud."""

from __future__ import annotations

import numpy as np

from edgeopt.core.plan import PlanState
from edgeopt.core.problem import CLOUD, Problem
from edgeopt.core.result import Outcome
from edgeopt.errors import InputError
from edgeopt.solvers.registry import register

__all__ = ["no_downsizing", "cloud_only"]


def _need_scenario(problem: Problem, name: str) -> None:
    if "full_model" not in problem.col_info:
        raise InputError(
            f"solver {name!r} needs a scenario instance (it uses origins and full models)",
            field="solver",
        )


@register(
    "no-downsizing",
    "status quo: the full model on the request's origin controller, cloud when it does not fit",
)
def no_downsizing(
    problem: Problem, *, seed: int | None = None, time_limit_s: float | None = None
) -> Outcome:
    """Every request keeps its family's most accurate configuration on its origin.

    Requests are taken in file order; one whose origin column is not admissible
    or no longer fits goes to the cloud (error when there is no cloud).
    """
    _need_scenario(problem, "no-downsizing")
    info = problem.col_info
    home = info["full_model"] & (problem.col_bin == info["origin"])
    cloud_bin = problem.bin_ids.index(CLOUD) if CLOUD in problem.bin_ids else -1
    st = PlanState(problem)
    for i in range(problem.n_items):
        lo, hi = int(problem.item_ptr[i]), int(problem.item_ptr[i + 1])
        cands = [lo + int(k) for k in np.flatnonzero(home[lo:hi])]
        cands += [lo + int(k) for k in np.flatnonzero(problem.col_bin[lo:hi] == cloud_bin)]
        ok = st.fits(np.array(cands, dtype=np.int64))
        if not ok.any():
            return Outcome(
                None,
                "error",
                message=f"request {problem.item_ids[i]} fits neither at home nor in the cloud",
            )
        st.add(cands[int(np.argmax(ok))])
    return Outcome(st.assignment)


@register("cloud-only", "every request to the cloud with its family's most accurate configuration")
def cloud_only(
    problem: Problem, *, seed: int | None = None, time_limit_s: float | None = None
) -> Outcome:
    """The all-cloud plan (error when the scenario has no cloud or a link overflows)."""
    if CLOUD not in problem.bin_ids:
        return Outcome(None, "error", message="the instance has no cloud")
    b = problem.bin_ids.index(CLOUD)
    a = np.full(problem.n_items, -1, dtype=np.int64)
    cols = np.flatnonzero(problem.col_bin == b)[::-1]
    a[problem.col_item[cols]] = cols  # the first cloud column of each item wins
    if (a < 0).any():
        return Outcome(None, "error", message="a request has no cloud column")
    return Outcome(a)
