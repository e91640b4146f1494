"""The worked example of docs/testing.md: a user's toy planner tested with edgeopt.testing.

The second property runs a deliberately broken planner (it ignores capacities);
it is kept as a strict xfail so the suite shows what a shrunk counterexample
looks like (run it with ``--runxfail``).
"""

import math

import numpy as np
import pytest
from hypothesis import given

from edgeopt.testing import (
    assert_feasible,
    assert_within_gap,
    compiled,
    core_problems,
    proven_optimum,
)


def cheapest_fit(problem, *, check_capacity=True):
    """Toy planner: each item takes its cheapest column that still fits (None when stuck)."""
    load, plan = np.zeros(problem.n_resources), []
    for i in range(problem.n_items):
        for j in sorted(problem.columns_of(i), key=lambda j: problem.col_cost[j]):
            if not check_capacity or (load + problem.dense_use[j] <= problem.capacity).all():
                load, plan = load + problem.dense_use[j], plan + [j]
                break
        else:
            return None
    return np.array(plan)


@given(compiled(max_controllers=2, max_requests=3))
def test_cheapest_fit_is_feasible_and_never_beats_the_optimum(problem):
    plan = cheapest_fit(problem)
    if plan is not None:
        assert_feasible(problem, plan)
        assert_within_gap(problem, plan, proven_optimum(problem), gap=math.inf)


@pytest.mark.xfail(strict=True, reason="deliberately broken planner: ignores capacities")
@given(core_problems(max_items=3, tightness=2.0))
def test_broken_planner_is_caught_with_a_small_counterexample(problem):
    plan = cheapest_fit(problem, check_capacity=False)
    if plan is not None:
        assert_feasible(problem, plan)
