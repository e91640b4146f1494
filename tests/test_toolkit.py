"""The public testing toolkit itself: strategies are valid and shrink small, invariants catch
what they claim to, and ``proven_optimum`` is exact, cached and honest about failures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from edgeopt.core.evaluate import evaluate
from edgeopt.core.problem import Problem
from edgeopt.core.result import Outcome, SolveResult
from edgeopt.solvers import registry
from edgeopt.solvers.registry import get_solver
from edgeopt.testing import (
    NotProvenError,
    assert_feasible,
    assert_objective_consistent,
    assert_within_gap,
    assignments,
    compiled,
    core_problems,
    problem_digest,
    proven_optimum,
    scenario_dicts,
    scenarios,
)
from edgeopt.testing import invariants as inv

with_assignment = core_problems().flatmap(lambda p: st.tuples(st.just(p), assignments(p)))


def two_bins() -> Problem:
    """Items a, b each fit on x or y (use 4, capacity 5): only one item per bin."""
    return Problem.from_columns(
        name="two-bins", item_ids=["a", "b"], bin_ids=["x", "y"], option_ids=["o"],
        resource_ids=["cap:x", "cap:y"], col_item=[0, 0, 1, 1], col_bin=[0, 1, 0, 1],
        col_option=[0, 0, 0, 0], col_cost=[1.0, 3.0, 1.0, 2.0], use_rows=[0, 1, 0, 1],
        use_cols=[0, 1, 2, 3], use_vals=[4.0] * 4, capacity=[5.0, 5.0],
    )  # fmt: skip


# ------------------------------------------------------------------ strategies
@given(
    scenarios(
        min_controllers=2,
        max_controllers=3,
        min_requests=2,
        max_requests=4,
        cloud=False,
        families=["a", "b"],
    )
)
def test_scenarios_respect_their_bounds(s):
    assert 2 <= len(s.controllers) <= 3 and 2 <= len(s.requests) <= 4
    assert s.cloud is None and set(s.catalog["families"]) == {"a", "b"}


@given(scenario_dicts(tightness=4.0), scenario_dicts(tightness=0.25))
def test_tightness_scales_memory_and_radio_bandwidth(tight, loose):
    def mem(d):
        return [n["memory_mb"] for n in d["topology"]["nodes"] if n["kind"] == "controller"]

    assert max(mem(tight)) <= 2000 / 4 < 200 / 0.25 <= min(mem(loose))


@given(with_assignment)
def test_assignments_pick_one_column_of_each_item(pa):
    p, a = pa
    assert all(p.item_ptr[i] <= a[i] < p.item_ptr[i + 1] for i in range(p.n_items))
    assert evaluate(p, a).complete


def test_core_problems_shrink_to_a_readable_counterexample():
    # "Some problem has two items and a balanced resource" — the smallest such problem,
    # worked out by hand: 2 items on one bin, cost 0, use 1, capacity 5, w_U 0.
    p = find(
        core_problems(),
        lambda p: p.n_items >= 2 and p.balanced.any(),
        settings=settings(database=None),
    )
    assert (p.item_ids, p.bin_ids, p.option_ids) == (["i0", "i1"], ["b0"], ["o0"])
    assert p.col_cost.tolist() == [0.0, 0.0] and p.use.toarray().tolist() == [[1.0, 1.0]]
    assert p.capacity.tolist() == [5.0] and p.balance_weight == 0.0


def test_scenarios_shrink_to_one_controller_and_one_configuration():
    d = find(scenario_dicts(), lambda d: len(d["requests"]) >= 2, settings=settings(database=None))
    nodes = [n["id"] for n in d["topology"]["nodes"]]
    assert nodes == ["upf", "g0", "c0"]
    assert list(d["catalog"]["families"]) == ["fam0"]
    assert [c["id"] for c in d["catalog"]["families"]["fam0"]["configs"]] == ["k0"]
    assert d["requests"][1] == {
        "id": "r1", "family": "fam0", "origin": "c0", "inference_rate_hz": 0.0, "train_samples": 0,
        "sample_kb": 1.0, "min_accuracy": 0.0, "max_latency_ms": 20.0, "weight": 0.5,
    }  # fmt: skip


# ------------------------------------------------------------------ invariants
def test_assert_feasible_names_the_overloaded_resource():
    p = two_bins()
    assert assert_feasible(p, np.array([0, 3])).objective == 3.0
    with pytest.raises(
        AssertionError, match=r"infeasible plan \[a/o@x, b/o@x\]: cap:x: load 8 > capacity 5"
    ):
        assert_feasible(p, np.array([0, 2]))
    with pytest.raises(AssertionError, match="unassigned"):
        assert_feasible(p, np.array([0, -1]))
    with pytest.raises(AssertionError, match="no assignment"):
        assert_feasible(p, SolveResult("x", "infeasible", None, None))


@given(with_assignment, st.sampled_from(["min", "max"]))
def test_objective_consistency_in_both_senses(pa, sense):
    p, a = pa
    p.sense = sense
    ev = evaluate(p, a)
    assert_objective_consistent(p, a, ev.objective)
    assert_objective_consistent(p, a, ev.source_objective, source_sense=True)
    with pytest.raises(AssertionError, match="reported objective"):
        assert_objective_consistent(p, a, ev.objective + 1.0)
    with pytest.raises(AssertionError, match="reported objective"):
        assert_objective_consistent(p, a, math.nan)


@settings(max_examples=max(10, settings.default.max_examples // 3))
@given(core_problems(max_items=4, tightness=1.5))
def test_greedy_never_beats_the_proven_optimum_and_milp_meets_it(p):
    z = proven_optimum(p, allow_infeasible=True)
    greedy = get_solver("greedy")(p, seed=0)
    if math.isinf(z):
        assert greedy.status in ("infeasible", "error")
        return
    if greedy.status == "feasible":
        assert_objective_consistent(p, greedy)
        assert_within_gap(p, greedy, z, gap=math.inf)
    assert assert_within_gap(p, get_solver("milp")(p, seed=0), z, gap=0.0) <= 1e-6


def test_within_gap_rejects_a_plan_that_beats_the_optimum():
    with pytest.raises(AssertionError, match="beats the proven optimum"):
        assert_within_gap(two_bins(), np.array([0, 3]), optimum=4.0, gap=0.1)


# ------------------------------------------------------------------ proven optimum
def test_proven_optimum_is_cached_by_the_problem_arrays(monkeypatch):
    calls = []
    real = inv._solve_exactly
    monkeypatch.setattr(inv, "_solve_exactly", lambda p, t: calls.append(p.name) or real(p, t))
    p = two_bins()
    p.name = "cache-test"
    inv._CACHE.pop(problem_digest(p), None)
    assert proven_optimum(p) == 3.0  # a on x (1), b on y (2)
    q = two_bins()
    q.item_ids = ["renamed", "too"]  # ids do not change the optimum, nor the digest
    assert proven_optimum(q) == 3.0
    assert calls == ["cache-test"]
    q.capacity = np.array([9.0, 5.0])  # both fit on x now: a different problem
    assert problem_digest(q) != problem_digest(p) and proven_optimum(q) == 2.0


def test_proven_optimum_raises_unless_proven(monkeypatch):
    p = two_bins()
    p.capacity = np.array([3.0, 3.0])  # nothing fits: proven infeasible
    with pytest.raises(NotProvenError, match="infeasible"):
        proven_optimum(p)
    assert proven_optimum(p, allow_infeasible=True) == math.inf

    def stopped(problem, *, seed=None, time_limit_s=None):
        return Outcome(np.array([0, 3]), "time_limit", bound=2.0)

    monkeypatch.setitem(registry._REGISTRY, "milp", registry._entry("milp", stopped, "stopped"))
    q = two_bins()
    q.col_cost = np.array([1.0, 3.0, 1.0, 2.5])  # not in the cache
    with pytest.raises(NotProvenError, match="time_limit"):
        proven_optimum(q)


@settings(max_examples=max(10, settings.default.max_examples // 4))
@given(compiled(max_controllers=2, max_requests=3))
def test_compiled_problems_have_proven_optima_matching_the_milp(p):
    z = proven_optimum(p, allow_infeasible=True)
    res = get_solver("milp")(p, seed=0)
    assert (res.status == "infeasible") == math.isinf(z)
