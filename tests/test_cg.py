"""Column generation: its bound is the LP relaxation's and never exceeds the MILP optimum."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from edgeopt.core.evaluate import evaluate
from edgeopt.solvers.cg import column_generation, lagrangian_bound
from edgeopt.solvers.registry import Deadline, get_solver
from edgeopt.testing import compiled, core_problems

problems = st.one_of(
    core_problems(max_items=5, max_bins=3, max_options=2, tightness=1.5),
    compiled(max_controllers=3, max_requests=4),
).filter(lambda p: p.n_columns > 0 and not p.empty_items)


@given(problems)
def test_cg_bound_equals_the_lp_relaxation_and_bounds_the_optimum(p):
    lp = get_solver("lp")(p, seed=0, reduce=False)
    milp = get_solver("milp")(p, seed=0)
    res = column_generation(p, start=None, deadline=Deadline.after(None))
    if lp.status == "infeasible":
        return  # the artificial columns keep the master feasible; nothing to compare
    assert lp.status == "bound"
    assert math.isclose(res.bound, lp.bound, rel_tol=1e-6, abs_tol=1e-7)
    if milp.status == "optimal":
        assert res.bound <= milp.objective + 1e-6 * max(1.0, abs(milp.objective))


@given(problems, st.integers(0, 2**32 - 1))
def test_the_lagrangian_bound_holds_for_any_nonnegative_duals(p, seed):
    # LB(y, ν) ≤ Z of every feasible plan, for arbitrary y ≥ 0 and ν ≥ 0 with Σν ≤ w_U.
    rng = np.random.default_rng(seed)
    y = rng.exponential(1.0, p.n_resources) * (rng.random(p.n_resources) < 0.5)
    nu = np.where(p.balanced, rng.random(p.n_resources), 0.0)
    if nu.sum() > 0:
        nu *= p.balance_weight * rng.random() / nu.sum()
    lb, _ = lagrangian_bound(p, y, nu)
    plan = get_solver("milp")(p, seed=0)
    if plan.status == "optimal":
        assert lb <= plan.objective + 1e-9 * max(1.0, abs(plan.objective))


def test_cg_solver_returns_a_refereed_plan_with_its_bound(fixture_catalog):
    from edgeopt.core.compile import compile_scenario
    from edgeopt.scenario.model import scenario_from_dict
    from tests.helpers import toy

    toy_problem = compile_scenario(scenario_from_dict(toy(fixture_catalog)))
    res = get_solver("cg")(toy_problem, seed=0, time_limit_s=20)
    assert res.has_plan and res.evaluation.feasible
    assert res.bound <= res.objective + 1e-9
    opt = get_solver("milp")(toy_problem, seed=0)
    assert res.bound <= opt.objective + 1e-9
    assert evaluate(toy_problem, res.assignment).objective >= opt.objective - 1e-9


def test_a_large_unbalanced_capacity_does_not_break_the_master():
    """Regression (found by hypothesis, ``tests/data/cg_large_link.json``): the artificial
    columns' cost was sized by the largest capacity of any resource (a 6e5 link), which made
    HiGHS's dual simplex fail and the bound -inf. It is sized by the largest balanced capacity."""
    import json
    from pathlib import Path

    from edgeopt.core.compile import compile_scenario
    from edgeopt.scenario.model import scenario_from_dict

    data = json.loads((Path(__file__).parent / "data" / "cg_large_link.json").read_text())
    p = compile_scenario(scenario_from_dict(data))
    lp = get_solver("lp")(p, seed=0, reduce=False)
    res = column_generation(p, start=None, deadline=Deadline.after(None))
    assert math.isfinite(res.bound)
    assert math.isclose(res.bound, lp.bound, rel_tol=1e-6, abs_tol=1e-9)
