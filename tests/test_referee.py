"""The referee, the result type's plain-data form, and the two gaps, as specifications."""

from __future__ import annotations

import math
from typing import get_args

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeopt.batch.runner import _Task, result_row
from edgeopt.batch.store import settings_hash
from edgeopt.core.compile import compile_scenario
from edgeopt.core.evaluate import evaluate
from edgeopt.core.gaps import gap_to_reference, proof_gap
from edgeopt.core.instance import load_instance
from edgeopt.core.referee import referee
from edgeopt.core.result import PLAN_STATUSES, STATUSES, Outcome, SolveResult, Status
from edgeopt.errors import SolverError
from edgeopt.scenario.model import scenario_from_dict
from edgeopt.solvers.registry import get_solver
from tests.helpers import make_instances, toy


@pytest.fixture
def toy_problem(fixture_catalog):
    return compile_scenario(scenario_from_dict(toy(fixture_catalog)))


# ------------------------------------------------------------------ statuses
def test_statuses_are_the_literal_s_values():
    assert STATUSES == get_args(Status)
    assert STATUSES == ("optimal", "feasible", "time_limit", "infeasible", "error", "bound")
    assert set(PLAN_STATUSES) <= set(STATUSES)


# ------------------------------------------------------------------ plain data
plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def solve_results(draw: st.DrawFn) -> SolveResult:
    """Any result a solve may return (its settings and stats already plain data)."""
    n = draw(st.integers(0, 6))
    plan = draw(st.none() | st.lists(st.integers(-1, 50), min_size=n, max_size=n))
    return SolveResult(
        solver=draw(st.sampled_from(["greedy", "milp", "greedy+ls"])),
        status=draw(st.sampled_from(STATUSES)),
        assignment=None if plan is None else np.array(plan, dtype=np.int64),
        objective=draw(st.none() | finite),
        bound=draw(st.none() | finite),
        wall_s=draw(st.floats(0, 1e6)),
        settings=draw(st.dictionaries(st.text(max_size=8), plain, max_size=4)),
        stats=draw(st.dictionaries(st.text(max_size=8), plain, max_size=4)),
        message=draw(st.text(max_size=20)),
    )


@given(solve_results())
def test_a_result_survives_its_plain_data_form(r):
    d = r.to_dict()
    assert SolveResult.from_dict(d) == r
    assert d["assignment"] is None or all(type(j) is int for j in d["assignment"])


def test_equality_looks_at_the_plan_not_at_the_evaluation(toy_problem):
    r = get_solver("greedy")(toy_problem, seed=0)
    assert r.evaluation is not None and SolveResult.from_dict(r.to_dict()) == r
    other = SolveResult.from_dict(r.to_dict())
    other.assignment = other.assignment.copy()
    other.assignment[0] += 1
    assert other != r


def test_numpy_values_in_stats_become_plain_python():
    r = SolveResult("x", "feasible", np.array([0]), 1.0, stats={"n": np.int64(3), "t": (1, 2.5)})
    assert r.to_dict()["stats"] == {"n": 3, "t": [1, 2.5]}
    assert type(r.to_dict()["stats"]["n"]) is int


# ------------------------------------------------------------------ the referee
def test_the_core_referee_catches_a_lying_solver(toy_problem):
    good = get_solver("greedy")(toy_problem, seed=0)
    with pytest.raises(SolverError, match="evaluator finds"):
        referee(toy_problem, "liar", Outcome(good.assignment, objective=good.objective * 0.99))
    with pytest.raises(SolverError, match="exceeds"):
        referee(toy_problem, "liar", Outcome(good.assignment, bound=good.objective * 1.5))
    claim = referee(toy_problem, "liar", Outcome(good.assignment, "optimal"))
    assert claim.status == "feasible" and "not proven optimal" in claim.message
    assert referee(toy_problem, "liar", Outcome(None, "optimal")).status == "error"


def test_refereeing_a_refereed_result_changes_nothing(toy_problem):
    for name in ["greedy", "milp", "lp"]:
        r = get_solver(name)(toy_problem, seed=0)
        again = referee(toy_problem, r.solver, r.as_outcome(), wall_s=r.wall_s, settings=r.settings)
        assert again == r, name


def _task_and_output(tmp_path, solver="greedy"):
    (path,) = make_instances(tmp_path, 1)
    inst = load_instance(path)
    settings = {"seed": 0, "time_limit_s": None}
    task = _Task(str(path), inst.sha256, solver, settings, settings_hash(settings))
    res = get_solver(solver)(inst.problem, seed=0)
    out = {"error": None, "result": res.to_dict(), "started_at": "t0", "finished_at": "t1"}
    return task, inst, res, out


def test_the_runner_referees_what_a_worker_sends(tmp_path):
    task, inst, res, out = _task_and_output(tmp_path)
    row = result_row(task, inst, out)
    assert row["status"] == "feasible" and row["objective_internal"] == res.objective
    # a worker claiming a proof it does not have is stored as a plan, as the registry would
    out["result"]["status"] = "optimal"
    assert result_row(task, inst, out)["status"] == "feasible"
    # a bound above the plan is an error row, the plan kept for inspection
    out["result"]["bound"] = res.objective + 1.0
    row = result_row(task, inst, out)
    assert row["status"] == "error" and "exceeds" in row["error"] and row["solution"]["assignment"]
    # a plan of the wrong length is an error row too (nothing to keep)
    out["result"].update(assignment=[0], bound=None)
    row = result_row(task, inst, out)
    assert row["status"] == "error" and "assignments for" in row["error"]


def test_the_runner_refuses_a_feasible_claim_for_an_overloaded_plan(tmp_path):
    task, inst, res, out = _task_and_output(tmp_path)
    p = inst.problem
    share = np.asarray(p.use.T @ (1.0 / p.capacity)).ravel()  # each column's capacity shares
    heavy = np.array([max(p.columns_of(i), key=lambda j: share[j]) for i in range(p.n_items)])
    assert not evaluate(p, heavy).feasible
    out["result"].update(assignment=heavy.tolist(), objective=None)
    row = result_row(task, inst, out)
    assert row["status"] == "error" and "plan fails the evaluator" in row["error"]


# ------------------------------------------------------------------ the two gaps
def test_proof_gap_by_hand():
    assert proof_gap(10.0, 9.0) == pytest.approx(0.1)  # (10 − 9) / 10
    assert proof_gap(0.5, 0.25) == pytest.approx(0.25)  # |Z| < 1: divided by 1
    assert proof_gap(-10.0, -11.0) == pytest.approx(0.1)  # (−10 + 11) / 10
    assert proof_gap(4.0, 4.0) == 0.0
    assert proof_gap(None, 1.0) is None and proof_gap(1.0, None) is None


def test_gap_to_reference_by_hand():
    assert gap_to_reference(12.0, 10.0) == pytest.approx(0.2)  # (12 − 10) / 10
    assert gap_to_reference(0.5, 0.25) == pytest.approx(1.0)  # no floor at 1
    assert gap_to_reference(-9.0, -10.0) == pytest.approx(0.1)  # divided by |Z*|
    assert gap_to_reference(1.0 - 1e-13, 1.0) == 0.0  # rounding below Z* is no gap
    assert gap_to_reference(0.9, 1.0) == pytest.approx(-0.1)  # a real one below Z* stays
    assert gap_to_reference(0.0, 0.0) == 0.0 and math.isinf(gap_to_reference(1.0, 0.0))


def test_the_two_gaps_differ_where_their_denominators_do():
    assert proof_gap(0.5, 0.25) != gap_to_reference(0.5, 0.25)
    assert proof_gap(20.0, 10.0) == pytest.approx(0.5) and gap_to_reference(20.0, 10.0) == 1.0
