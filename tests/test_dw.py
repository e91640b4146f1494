"""The pattern bound (edgeopt.solvers.dw): pricing exactness, bound validity, fixing validity.

Every expected value here is worked out independently of the code under test: knapsacks by
enumeration, optima by the MILP (HiGHS on the compact model), LP bounds by column generation.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edgeopt.core.evaluate import FEAS_TOL, evaluate
from edgeopt.core.instance import load_instance
from edgeopt.core.problem import Problem
from edgeopt.errors import InputError
from edgeopt.solvers.cg import column_generation
from edgeopt.solvers.dw import (
    Interval,
    Structure,
    _Pool,
    interval_bound,
    knapsack,
    pattern_bound,
    survivors,
)
from edgeopt.solvers.registry import Deadline, get_solver
from edgeopt.testing import compiled, core_problems

SMALL = settings(
    max_examples=max(10, settings.default.max_examples // 4),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo suite (``edgeopt generate --suite default``: same seeds, same bytes as
    ``make demo`` writes), generated here so a fresh clone needs nothing else."""
    from edgeopt.scenario.suites import write_suite

    out = tmp_path_factory.mktemp("default")
    write_suite("default", out)
    return out


# --------------------------------------------------------------------------- pricing
@st.composite
def mckp(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_items = draw(st.integers(1, 6))
    r = draw(st.integers(1, 2))
    item, rc, w = [], [], []
    for i in range(n_items):
        for _ in range(draw(st.integers(1, 3))):
            item.append(i)
            rc.append(-draw(st.integers(0, 40)) / 10.0)
            w.append([draw(st.integers(1, 10)) / 2.0 for _ in range(r)])
    cap = np.array([draw(st.integers(0, 20)) / 2.0 for _ in range(r)])
    return np.array(rc), np.array(item), np.array(w).reshape(len(rc), r), cap


def _brute(rc: np.ndarray, item: np.ndarray, w: np.ndarray, cap: np.ndarray) -> float:
    options = [[-1, *np.flatnonzero(item == i).tolist()] for i in np.unique(item)]
    best = 0.0
    for pick in itertools.product(*options):
        cols = [j for j in pick if j >= 0]
        if cols and (w[cols].sum(axis=0) <= cap).all():
            best = min(best, float(rc[cols].sum()))
    return best


@SMALL
@given(mckp(), st.sampled_from([0, 200_000]))
def test_knapsack_is_exact_and_returns_a_pattern_that_fits(data, max_nodes):
    """Both solvers behind ``knapsack`` (branch and bound, and HiGHS with max_nodes=0) agree
    with enumeration, and the choice they return fits and takes an item at most once."""
    rc, item, w, cap = data
    want = _brute(rc, item, w, cap)
    bound, value, chosen = knapsack(rc, item, w, cap, max_nodes=max_nodes)
    assert _rel(bound, want) < 1e-9 and _rel(value, want) < 1e-9
    assert np.unique(item[chosen]).size == chosen.size
    assert (w[chosen].sum(axis=0) <= cap + 1e-12).all()
    assert math.isclose(float(rc[chosen].sum()), value, abs_tol=1e-12)


# --------------------------------------------------------------------------- bounds
def _milp(p: Problem) -> float | None:
    r = get_solver("milp")(p, seed=0, time_limit_s=60)
    return r.objective if r.status == "optimal" else None


@SMALL
@given(compiled(max_controllers=3, max_requests=5, tightness=2.0))
def test_pattern_bound_lies_between_the_lp_and_the_optimum(p):
    opt = _milp(p)
    if opt is None:
        return
    lp = column_generation(p, start=None, deadline=Deadline.after(None)).bound
    res = pattern_bound(p, deadline=Deadline.after(30), incumbent=opt)
    assert res.bound <= opt + 1e-6 * max(1.0, abs(opt))
    assert res.bound >= lp - 1e-6 * max(1.0, abs(lp))


def _two_on_one_bin() -> Problem:
    """Found by hypothesis: each item fits an interval [0.83, 1.25] alone but not both, so
    that interval holds no plan; its LP is infeasible and it must close (it once spun until
    the deadline, leaving the bound at w·lo = 0.83 where the optimum is 2)."""
    return Problem.from_columns(
        name="two-on-one-bin",
        item_ids=["i0", "i1"],
        bin_ids=["b0"],
        option_ids=["o0"],
        resource_ids=["cap:b0"],
        col_item=np.array([0, 1]),
        col_bin=np.array([0, 0]),
        col_option=np.array([0, 0]),
        col_cost=np.zeros(2),
        capacity=np.array([10 / 3]),
        use_rows=np.array([0, 0]),
        use_cols=np.array([0, 1]),
        use_vals=np.array([1.0, 1.0]),
        balanced=np.array([True]),
        balance_weight=1.0,
    )


@SMALL
@given(core_problems(max_items=6, max_bins=1, max_options=3, balanced=True, tightness=1.5))
@example(_two_on_one_bin())
def test_pattern_bound_is_the_optimum_with_one_bin(p):
    """One bin and no other place to go: a convex combination of whole patterns is a plan
    mix, so the converged master is the optimum (U intervals closing at the incumbent)."""
    opt = _milp(p)
    if opt is None:
        return
    res = pattern_bound(p, deadline=Deadline.after(30), incumbent=opt)
    assert _rel(res.bound, opt) < 1e-6


@SMALL
@given(
    core_problems(max_items=6, max_bins=3, max_options=2, tightness=2.0),
    st.sampled_from([1e-3, 0.05, 0.3]),
)
def test_reduced_cost_fixing_keeps_the_optimal_plan(p, above):
    r = get_solver("milp")(p, seed=0, time_limit_s=60)
    if r.status != "optimal":
        return
    incumbent = r.objective + above * max(1.0, abs(r.objective))
    res = pattern_bound(p, deadline=Deadline.after(3), incumbent=incumbent)
    assert survivors(p, res, incumbent)[r.assignment].all()


def test_reduced_cost_fixing_removes_only_columns_in_no_better_plan(demo):
    """For every removed column, the MILP with that column forced in costs at least the
    incumbent (a rule four times too eager fails this on the same instance)."""
    p = load_instance(demo / "default-c4-r12-s1.json").problem
    opt = get_solver("milp")(p, seed=0).objective
    incumbent = opt * 1.05
    res = pattern_bound(p, deadline=Deadline.after(4), incumbent=incumbent)
    removed = np.flatnonzero(~survivors(p, res, incumbent))
    assert removed.size > 0
    for j in removed[:40]:
        mask = np.ones(p.n_columns, dtype=bool)
        mask[p.item_ptr[p.col_item[j]] : p.item_ptr[p.col_item[j] + 1]] = False
        mask[j] = True
        forced = get_solver("milp")(p.subset(mask), seed=0, time_limit_s=60)
        if forced.status == "optimal":
            assert forced.objective >= incumbent - 1e-6 * max(1.0, abs(incumbent))
        else:
            assert forced.status == "infeasible"


def test_a_stopped_run_still_reports_a_valid_bound(demo):
    p = load_instance(demo / "default-c6-r24-s3.json").problem
    opt = 0.916608  # milp, optimal (reports/demo); checked again below
    assert _rel(_milp(p), opt) < 1e-5
    for seconds in (0.05, 0.5, 2.0):
        res = pattern_bound(p, deadline=Deadline.after(seconds))
        assert res.bound <= opt * (1 + 1e-6)


def test_pricing_only_makes_patterns_that_fit_their_interval(demo):
    p = load_instance(demo / "default-c6-r24-s4.json").problem
    st_ = Structure.of(p)
    pool = _Pool()
    iv = Interval(0.3, 0.6)
    interval_bound(p, st_, iv, pool, deadline=Deadline.after(3), max_iterations=5)
    assert pool.bins, "pricing made no pattern"
    for b, cols in zip(pool.bins, pool.cols, strict=True):
        assert (p.col_bin[cols] == b).all()
        assert np.unique(p.col_item[cols]).size == cols.size
        load = np.asarray(p.use[:, cols].sum(axis=1)).ravel()
        assert (load <= p.capacity * (1 + FEAS_TOL) + 1e-12).all()
    # the patterns priced in this interval (not the start plan's) respect its cap on U
    assert iv.bound <= get_solver("milp")(p, seed=0).objective * (1 + 1e-6) or iv.lo > 0


def test_dw_solver_proves_a_demo_optimum_and_is_refereed(demo):
    p = load_instance(demo / "default-c4-r12-s1.json").problem
    r = get_solver("dw")(p, seed=0, time_limit_s=30)
    assert r.status == "optimal"
    assert _rel(r.objective, 0.714501) < 1e-5  # milp's proven optimum (reports/demo)
    assert _rel(r.bound, r.objective) <= 1e-6
    assert _rel(evaluate(p, r.assignment).objective, r.objective) < 1e-9


def test_best_refuses_an_unknown_bound(demo):
    p = load_instance(demo / "default-c4-r12-s1.json").problem
    with pytest.raises(InputError, match="bound_by"):
        get_solver("best")(p, seed=0, time_limit_s=1, bound_by="nope")


def test_dw_falls_back_on_the_lp_bound_above_its_column_limit_and_says_so(demo):
    p = load_instance(demo / "default-c4-r12-s1.json").problem
    r = get_solver("dw")(p, seed=0, time_limit_s=5, dw_max_columns=10)
    assert r.stats["dw"].startswith("skipped: 473 columns")
    lp = column_generation(p, start=None, deadline=Deadline.after(None)).bound
    assert r.bound is not None and r.bound >= lp - 1e-9
