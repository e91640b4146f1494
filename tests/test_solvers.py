"""Every registered solver honours the interface; baselines and local search by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from edgeopt.core.compile import compile_scenario
from edgeopt.core.evaluate import evaluate
from edgeopt.scenario.model import scenario_from_dict
from edgeopt.core.result import STATUSES
from edgeopt.solvers.registry import get_solver, solver_names
from edgeopt.solvers.local_search import polish
from edgeopt.testing import core_problems, scenario_dicts
from tests.helpers import col, toy

PLANNERS = [s for s in solver_names() if s not in ("lp", "drl")]  # lp gives only a bound; drl has its own tests


@pytest.fixture
def toy_problem(fixture_catalog):
    return compile_scenario(scenario_from_dict(toy(fixture_catalog)))


@pytest.mark.parametrize("name", PLANNERS + ["greedy+ls"])
def test_solver_interface_and_referee(name, toy_problem):
    res = get_solver(name)(toy_problem, seed=5, time_limit_s=30)
    assert res.status in STATUSES
    assert res.solver == name
    assert res.settings.get("seed") == 5
    if res.assignment is not None:
        ev = evaluate(toy_problem, res.assignment)
        assert ev.feasible
        assert math.isclose(res.objective, ev.objective, rel_tol=1e-9, abs_tol=1e-12)
    again = get_solver(name)(toy_problem, seed=5, time_limit_s=30)
    assert (res.assignment is None and again.assignment is None) or np.array_equal(res.assignment, again.assignment)


def test_no_downsizing_worked_by_hand(toy_problem):
    # r0: full vision model fits at home (c0). r1: full series model at home (c1), 300 MB of 550.
    # r2: the full vision model needs 600 MB > 550 on c1, so it is not admissible there → cloud.
    res = get_solver("no-downsizing")(toy_problem)
    p = toy_problem
    assert list(res.assignment) == [col(p, "r0/w1.00-b32-e2@c0"), col(p, "r1/w1.00-b16-e4@c1"),
                                    col(p, "r2/w1.00-b32-e2@cloud")]


def test_cloud_only_sends_everything_to_the_cloud(toy_problem):
    res = get_solver("cloud-only")(toy_problem)
    assert [toy_problem.bin_ids[toy_problem.col_bin[j]] for j in res.assignment] == ["cloud"] * 3
    # Z = Σ ω·(w_C + w_N·hops·D/1000): r0 3 hops × 36.6 MB, r1 (ω 2) 3 × 23.6, r2 3 × (1000 + 3600)·3/1000
    want = (1 + 0.05 * 3 * 36.6 / 1000) + 2 * (1 + 0.05 * 3 * 23.6 / 1000) + (1 + 0.05 * 3 * 13.8 / 1000)
    assert res.objective == pytest.approx(want)


@settings(max_examples=40)
@given(core_problems(max_items=5, max_bins=3, max_options=2))
def test_polish_never_worsens_and_stays_feasible(p):
    start = get_solver("random")(p, seed=0)
    if start.assignment is None:
        return
    a, stats = polish(p, start.assignment, seed=0)
    ev = evaluate(p, a)
    assert ev.feasible
    assert ev.objective <= start.objective + 1e-12
    # a local optimum: no single shift improves it
    for i in range(p.n_items):
        for j in p.columns_of(i):
            b = a.copy()
            b[i] = j
            e = evaluate(p, b)
            assert not (e.feasible and e.objective < ev.objective - 1e-9 * max(1, abs(ev.objective)))


@settings(max_examples=30)
@given(scenario_dicts(max_controllers=3, max_requests=5, cloud=True))
def test_polished_plans_pass_the_referee_on_scenarios(d):
    p = compile_scenario(scenario_from_dict(d))
    res = get_solver("greedy+ls")(p, seed=1)
    if res.assignment is not None:
        assert evaluate(p, res.assignment).feasible
        assert res.objective <= get_solver("greedy")(p).objective + 1e-12
