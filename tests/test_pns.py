"""Predict-and-search (``pns``): the learned planner's probabilities fix and shortlist, HiGHS
solves the rest."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from edgeopt.core.evaluate import evaluate
from edgeopt.errors import InputError
from edgeopt.policy.checkpoint import load_policy
from edgeopt.policy.decode import rollout
from edgeopt.solvers.pns import decode_marginals, shortlist
from edgeopt.solvers.registry import get_solver
from tests.test_beam import scenario_problem


@pytest.fixture(scope="module")
def problems():
    return [scenario_problem(s, controllers=4, requests=12) for s in range(3)]


def test_marginals_decode_the_greedy_plan_and_its_choice_is_the_most_probable(problems):
    policy, order = load_policy(None)
    for p in problems:
        plan, prob = decode_marginals(policy, p, order=order)
        greedy = rollout(policy, [p], order=order)
        assert plan is not None and np.array_equal(plan, greedy.assignment(0))
        assert prob.shape == (p.n_columns,) and (prob >= 0).all() and (prob <= 1 + 1e-6).all()
        for i in range(p.n_items):
            lo, hi = p.item_ptr[i], p.item_ptr[i + 1]
            assert prob[plan[i]] > 0
            assert prob[plan[i]] >= prob[lo:hi].max() - 1e-6


def test_shortlist_keeps_the_k_most_probable_fitting_columns(problems):
    p = problems[0]
    rng = np.random.default_rng(0)
    prob = rng.random(p.n_columns).astype(np.float32)
    fits = rng.random(p.n_columns) < 0.7
    items = np.array([1, 4, 7])
    cols = shortlist(p, items, prob, 3, fits)
    assert np.array_equal(cols, np.sort(cols)) and fits[cols].all()
    for i in items:
        lo, hi = p.item_ptr[i], p.item_ptr[i + 1]
        mine = cols[(cols >= lo) & (cols < hi)]
        ok = np.arange(lo, hi)[fits[lo:hi]]
        assert mine.size == min(3, ok.size)
        if ok.size > mine.size:
            assert prob[mine].min() >= prob[np.setdiff1d(ok, mine)].max()
    assert not np.isin(p.col_item[cols], items, invert=True).any()


def test_plan_is_feasible_and_its_z_is_the_evaluators(problems):
    for p in problems:
        res = get_solver("pns")(p, seed=0, time_limit_s=10)
        assert res.has_plan and res.status == "feasible"
        ev = evaluate(p, res.assignment)
        assert ev.feasible and math.isclose(res.objective, ev.objective, rel_tol=1e-12)
        # never worse than the decoded plan it starts from
        assert res.objective <= res.stats["decoded_objective"] + 1e-12
        again = get_solver("pns")(p, seed=0, time_limit_s=10)
        assert np.array_equal(res.assignment, again.assignment)


def test_fix_all_returns_the_greedy_decoding(problems):
    for p in problems:
        res = get_solver("pns")(p, seed=0, fix=1.0)
        greedy = get_solver("drl")(p, seed=0, beam=1, samples=0)
        assert np.array_equal(res.assignment, greedy.assignment)
        assert res.stats["free_items"] == 0 and res.status == "feasible"


def test_fix_none_with_every_column_finds_the_milp_optimum(problems):
    for p in problems:
        res = get_solver("pns")(p, seed=0, time_limit_s=30, fix=0.0, k=10**6)
        opt = get_solver("milp")(p, seed=0, time_limit_s=30)
        assert opt.status == "optimal"
        assert res.status == "feasible"  # the sub-MIP's proof is not claimed as the problem's
        assert math.isclose(res.objective, opt.objective, rel_tol=1e-6, abs_tol=1e-9)


def test_pns_then_lns_starts_from_its_plan(problems):
    p = problems[2]
    base = get_solver("pns")(p, seed=0)
    res = get_solver("pns+lns")(p, seed=0, time_limit_s=2.0)
    assert res.has_plan and evaluate(p, res.assignment).feasible
    assert res.objective <= base.objective + 1e-12
    assert res.stats["base_objective"] == pytest.approx(base.objective)


def test_time_limit_is_honoured():
    p = scenario_problem(3, controllers=12, requests=80)
    for limit in (0.05, 1.0):
        t0 = time.perf_counter()
        res = get_solver("pns")(p, seed=0, time_limit_s=limit, fix=0.0, k=10**6)
        wall = time.perf_counter() - t0
        assert wall <= limit * 1.1 + 1.0, f"{wall:.2f} s for {limit} s"
        assert res.has_plan and res.status in ("feasible", "time_limit")


def test_bad_options_are_refused(problems):
    with pytest.raises(InputError):
        get_solver("pns")(problems[0], fix=1.5)
    with pytest.raises(InputError):
        get_solver("pns")(problems[0], k=0)


def test_widening_frees_more_items_and_reaches_the_optimum(problems):
    for p in problems:
        base = get_solver("pns")(p, seed=0, time_limit_s=30)
        res = get_solver("pns")(p, seed=0, time_limit_s=30, widen=True)
        opt = get_solver("milp")(p, seed=0, time_limit_s=30)
        rounds = res.stats["sub_rounds"]
        assert [r["free_items"] for r in rounds][-1] == p.n_items
        assert all(a["free_items"] <= b["free_items"] for a, b in zip(rounds, rounds[1:]))
        assert res.status == "feasible" and res.objective <= base.objective + 1e-12
        assert math.isclose(res.objective, opt.objective, rel_tol=1e-6, abs_tol=1e-9)
