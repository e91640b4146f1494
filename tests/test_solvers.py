"""Every registered solver honours the interface; baselines and local search by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given

from edgeopt.core.compile import compile_scenario
from edgeopt.core.evaluate import evaluate
from edgeopt.core.result import STATUSES, Outcome
from edgeopt.errors import InputError, SolverError
from edgeopt.scenario.model import scenario_from_dict
from edgeopt.solvers import registry
from edgeopt.solvers.local_search import polish
from edgeopt.solvers.registry import get_solver, solver_names
from edgeopt.testing import core_problems, scenario_dicts
from tests.helpers import col, toy

PLANNERS = [
    s for s in solver_names() if s not in ("lp", "drl")
]  # lp gives only a bound; drl has its own tests


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
        # Z recomputed here from the raw arrays (not by the evaluator the registry used)
        a = res.assignment
        loads = toy_problem.use.toarray() @ np.bincount(a, minlength=toy_problem.n_columns)
        assert (loads <= toy_problem.capacity * (1 + 1e-9)).all()
        z = (
            toy_problem.col_cost[a].sum()
            + toy_problem.balance_weight * loads[toy_problem.balanced].max()
        )
        assert math.isclose(res.objective, z, rel_tol=1e-9, abs_tol=1e-12)
    again = get_solver(name)(toy_problem, seed=5, time_limit_s=30)
    assert (res.assignment is None and again.assignment is None) or np.array_equal(
        res.assignment, again.assignment
    )


def test_no_downsizing_worked_by_hand(toy_problem):
    # r0: full vision model fits at home (c0). r1: full series model at home (c1), 300 MB of 550.
    # r2: the full vision model needs 600 MB > 550 on c1, so it is not admissible there → cloud.
    res = get_solver("no-downsizing")(toy_problem)
    p = toy_problem
    assert list(res.assignment) == [
        col(p, "r0/w1.00-b32-e2@c0"),
        col(p, "r1/w1.00-b16-e4@c1"),
        col(p, "r2/w1.00-b32-e2@cloud"),
    ]


def test_cloud_only_sends_everything_to_the_cloud(toy_problem):
    res = get_solver("cloud-only")(toy_problem)
    assert [toy_problem.bin_ids[toy_problem.col_bin[j]] for j in res.assignment] == ["cloud"] * 3
    # Z = Σ ω·(w_C + w_N·hops·D/1000): r0 3 hops × 36.6 MB, r1 (ω 2) 3 × 23.6, r2 3 × (1000 + 3600)·3/1000
    want = (
        (1 + 0.05 * 3 * 36.6 / 1000)
        + 2 * (1 + 0.05 * 3 * 23.6 / 1000)
        + (1 + 0.05 * 3 * 13.8 / 1000)
    )
    assert res.objective == pytest.approx(want)


@given(core_problems(max_items=5, max_bins=3, max_options=2))
def test_polish_never_worsens_and_stays_feasible(p):
    start = get_solver("random")(p, seed=0)
    assume(start.assignment is not None)
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
            assert not (
                e.feasible and e.objective < ev.objective - 1e-9 * max(1, abs(ev.objective))
            )


@given(scenario_dicts(max_controllers=3, max_requests=5, cloud=True))
def test_polished_plans_pass_the_referee_on_scenarios(d):
    p = compile_scenario(scenario_from_dict(d))
    res = get_solver("greedy+ls")(p, seed=1)
    if res.assignment is not None:
        assert evaluate(p, res.assignment).feasible
        assert res.objective <= get_solver("greedy")(p).objective + 1e-12


# ------------------------------------------------------------------ the referee
@pytest.fixture
def liar(monkeypatch):
    """Register solver 'liar' whose answer each test sets: the referee must catch it."""
    answer = {}

    def lie(problem, *, seed=None, time_limit_s=None, level: float = 1.0):
        return answer["out"](problem)

    monkeypatch.setitem(registry._REGISTRY, "liar", registry._entry("liar", lie, "lies"))
    return answer


def test_a_solver_reporting_a_wrong_objective_is_rejected(liar, toy_problem):
    good = get_solver("greedy")(toy_problem)
    liar["out"] = lambda p: Outcome(good.assignment, objective=good.objective * 0.99)
    with pytest.raises(SolverError, match="evaluator finds"):
        get_solver("liar")(toy_problem)
    liar["out"] = lambda p: Outcome(good.assignment, objective=good.objective)
    assert get_solver("liar")(toy_problem).status == "feasible"


def test_optimal_without_a_matching_bound_becomes_feasible(liar, toy_problem):
    good = get_solver("greedy")(toy_problem)
    liar["out"] = lambda p: Outcome(good.assignment, "optimal")  # no bound at all
    assert get_solver("liar")(toy_problem).status == "feasible"
    liar["out"] = lambda p: Outcome(good.assignment, "optimal", bound=good.objective * 0.9)
    res = get_solver("liar")(toy_problem)
    assert res.status == "feasible" and res.bound == pytest.approx(good.objective * 0.9)
    liar["out"] = lambda p: Outcome(good.assignment, "optimal", bound=good.objective * (1 - 1e-8))
    assert get_solver("liar")(toy_problem).status == "optimal"


def test_a_bound_above_the_plan_or_an_infeasible_plan_is_caught(liar, toy_problem):
    good = get_solver("greedy")(toy_problem)
    liar["out"] = lambda p: Outcome(good.assignment, bound=good.objective * 1.5)
    with pytest.raises(SolverError, match="exceeds"):
        get_solver("liar")(toy_problem)
    everything_on_c1 = np.array(
        [
            col(toy_problem, "r0/w0.50-b32-e2@c1"),
            col(toy_problem, "r1/w1.00-b16-e4@c1"),
            col(toy_problem, "r2/w0.50-b32-e2@c1"),
        ]
    )  # 900 MB of 550
    liar["out"] = lambda p: Outcome(everything_on_c1)
    res = get_solver("liar")(toy_problem)
    assert res.status == "error" and "memory:c1" in res.message


@pytest.mark.parametrize(
    "options, message",
    [
        ({"bogus": 1}, "unknown option 'bogus'"),
        ({"level": "abc"}, "option 'level' takes float"),
        ({"level": float("nan")}, "must be finite"),
    ],
)
def test_options_are_checked_against_the_signature(liar, toy_problem, options, message):
    liar["out"] = lambda p: Outcome(None)
    with pytest.raises(InputError, match=message):
        get_solver("liar")(toy_problem, **options)


@pytest.mark.parametrize("item", ["seed=5", "milp.time_limit_s=3"])
def test_set_refuses_options_that_have_their_own_flag(item):
    with pytest.raises(InputError, match="give it with --"):
        registry.parse_options([item])


def test_settings_record_every_option_with_its_default(toy_problem):
    res = get_solver("greedy")(toy_problem, seed=3, penalties=[0.0])
    assert res.settings == {
        "seed": 3,
        "time_limit_s": None,
        "penalties": [0.0],
        "fallback_penalties": [1.0, 10.0, 100.0],
        "one_pass_above": 500_000,
    }


def test_an_item_without_columns_is_infeasible_for_every_solver(toy_problem):
    keep = np.ones(toy_problem.n_columns, dtype=bool)
    keep[list(toy_problem.columns_of(1))] = False
    p = toy_problem.subset(keep)
    for name in [
        "greedy",
        "random",
        "local-search",
        "greedy+ls",
        "lns",
        "milp",
        "lp",
        "no-downsizing",
    ]:
        res = get_solver(name)(p, seed=0)
        assert res.status == "infeasible" and "r1" in res.message, name
