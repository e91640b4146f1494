"""The dense-row guard of the HiGHS driver: which models lose HiGHS's sub-MIP heuristics and
restarts (only those with a dense row that can bind), worked out here by hand, and the
optimum unchanged with the heuristics on or off."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from edgeopt.core.problem import Problem
from edgeopt.solvers import highs
from edgeopt.solvers.highs import (
    DENSE_MIN,
    HighsOptions,
    configure,
    has_binding_dense_row,
    new_highs,
    solve_arrays,
)
from edgeopt.solvers.registry import get_solver

INF = np.inf


def _assignment(n_items: int, per_item: int) -> sp.csr_array:
    """One row per item (= 1) over its ``per_item`` consecutive columns."""
    cols = np.arange(n_items * per_item)
    return sp.csr_array((np.ones(cols.size), (cols // per_item, cols)))


def _gap(m: int, n: int, weight: float = 1.0) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """GAP rows: n assignment rows (= 1), then m agent rows (≤ 1) with ``weight`` per job;
    column j is job j // m on agent j % m."""
    cols = np.arange(n * m)
    cap = sp.csr_array((np.full(cols.size, weight), (cols % m, cols)), shape=(m, n * m))
    a = sp.csr_array(sp.vstack([_assignment(n, m), cap]))
    return a, np.r_[np.ones(n), np.full(m, -INF)], np.ones(n + m)


def _binding(a, lower, upper, col_upper=None) -> bool:
    n = a.shape[1]
    cu = np.ones(n) if col_upper is None else col_upper
    return has_binding_dense_row(a, lower, upper, np.zeros(n), cu)


def test_gap_models_have_no_dense_row():
    # 5 agents, 3000 jobs: each agent row has 3000 of 15000 columns = 20 % (limit: 25 %)
    a, lo, up = _gap(5, 3000)
    assert not _binding(a, lo, up)
    # OR-Library's gapb/gapc-4 shape: 20 agents x 100 jobs, agent rows of 100 columns
    a, lo, up = _gap(20, 100)
    assert not _binding(a, lo, up)


def test_a_hub_row_that_can_bind_triggers_the_guard():
    # 10 agents x 400 jobs = 4000 columns, plus a hub row over every column: 0.01 each,
    # capacity 1; all columns at 1 load it to 40 > 1, so presolve cannot drop it
    a, lo, up = _gap(10, 400)
    hub = sp.csr_array(np.full((1, 4000), 0.01))
    b = sp.csr_array(sp.vstack([a, hub]))
    assert _binding(b, np.r_[lo, -INF], np.r_[up, 1.0])


def test_a_dense_row_that_cannot_bind_is_left_alone():
    # the same hub at 1e-4 per column: at most 0.4 ≤ 1, redundant (c25-r150's gNB links)
    a, lo, up = _gap(10, 400)
    hub = sp.csr_array(np.full((1, 4000), 1e-4))
    b = sp.csr_array(sp.vstack([a, hub]))
    assert not _binding(b, np.r_[lo, -INF], np.r_[up, 1.0])
    # ... but as a ≥ row (load at least 0.1) it can: activity 0 at x = 0
    assert _binding(b, np.r_[lo, 0.1], np.r_[up, INF])


def test_a_balance_row_with_the_unbounded_u_column_can_bind():
    # Σ 0.001 x − U ≤ 0 over 3000 binaries and U in [0, inf): max activity 3 − 0 > 0
    n = 3000
    row = sp.csr_array(np.r_[np.full(n, 1e-3), -1.0].reshape(1, -1))
    cu = np.r_[np.ones(n), INF]
    assert has_binding_dense_row(row, np.array([-INF]), np.array([0.0]), np.zeros(n + 1), cu)
    # an explicit zero on U (0 · inf) is no coefficient and no NaN: 3 > 5 is false
    row0 = sp.csr_array(
        (np.r_[np.full(n, 1e-3), 0.0], (np.zeros(n + 1, dtype=int), np.arange(n + 1)))
    )
    assert not has_binding_dense_row(row0, np.array([-INF]), np.array([5.0]), np.zeros(n + 1), cu)


def test_density_thresholds():
    # DENSE_MIN nonzeros in DENSE_MIN columns: not more than DENSE_MIN, so not dense
    full = sp.csr_array(np.ones((1, DENSE_MIN)))
    assert not _binding(full, np.array([-INF]), np.array([0.5]))
    # 10000 columns: a row is dense above 2500 (25 %), not at it
    n = 10_000
    for k, dense in ((2500, False), (2501, True)):
        row = sp.csr_array((np.ones(k), (np.zeros(k, dtype=int), np.arange(k))), shape=(1, n))
        assert _binding(row, np.array([-INF]), np.array([0.5])) is dense


def _opt(h, name):
    value = h.getOptionValue(name)
    return value[1] if isinstance(value, tuple) else value


def test_options_follow_the_guard():
    h = new_highs()
    configure(h, HighsOptions(guarded=True))
    assert _opt(h, "mip_heuristic_run_rens") is True
    assert _opt(h, "mip_allow_restart") is True
    assert _opt(h, "presolve") == "choose"  # LNS sub-MIPs without a dense row presolve
    h = new_highs()
    configure(h, HighsOptions(), dense=True)
    assert _opt(h, "mip_heuristic_run_root_reduced_cost") is False
    assert _opt(h, "mip_allow_restart") is False
    assert _opt(h, "presolve") == "choose"  # milp keeps its root presolve


def test_solve_arrays_reports_the_guard_and_the_optimum():
    # 700 items x 3 columns, cost (i % 5) + 1 + k for column k: optimum Σ (i % 5) + 1 = 2100
    n_items, k = 700, 3
    cost = np.array([(i % 5) + 1 + c for i in range(n_items) for c in range(k)], dtype=float)
    assign = _assignment(n_items, k)
    hub = sp.csr_array(np.full((1, n_items * k), 1e-3))  # max activity 2.1 > 1: can bind
    a = sp.csr_array(sp.vstack([assign, hub]))
    n = n_items * k
    common = dict(
        cost=cost,
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integer=np.ones(n, dtype=bool),
        options=HighsOptions(time_limit_s=20, threads=1, seed=0),
    )
    res = solve_arrays(
        a=a,
        row_lower=np.r_[np.ones(n_items), -INF],
        row_upper=np.r_[np.ones(n_items), 1.0],
        **common,
    )
    assert res.dense_row_guard and res.proven_optimal
    assert res.objective == pytest.approx(2100.0)
    # without the hub row: no guard, same optimum
    res = solve_arrays(a=assign, row_lower=np.ones(n_items), row_upper=np.ones(n_items), **common)
    assert not res.dense_row_guard and res.proven_optimal
    assert res.objective == pytest.approx(2100.0)


def _small_problem() -> Problem:
    """7 items on 3 bins (21 columns), seeded costs and uses, tight capacities, a balanced
    resource per bin and one shared link every column uses."""
    rng = np.random.default_rng(7)
    n_items, n_bins = 7, 3
    col_item = np.repeat(np.arange(n_items), n_bins)
    col_bin = np.tile(np.arange(n_bins), n_items)
    load = rng.uniform(1.0, 4.0, size=col_item.size)
    link = rng.uniform(0.5, 2.0, size=col_item.size)
    rows = np.r_[col_bin, np.full(col_item.size, n_bins)]
    cols = np.r_[np.arange(col_item.size), np.arange(col_item.size)]
    return Problem.from_columns(
        name="guard-small",
        item_ids=[f"i{i}" for i in range(n_items)],
        bin_ids=[f"b{b}" for b in range(n_bins)],
        option_ids=["-"],
        resource_ids=[f"b{b}" for b in range(n_bins)] + ["link"],
        col_item=col_item,
        col_bin=col_bin,
        col_option=np.zeros(col_item.size, dtype=np.int64),
        col_cost=rng.uniform(0.0, 3.0, size=col_item.size),
        use_rows=rows,
        use_cols=cols,
        use_vals=np.r_[load, link],
        capacity=np.array([9.0, 9.0, 9.0, 8.0]),
        balanced=[True, True, True, False],
        balance_weight=0.7,
    )


def _brute_force(p: Problem) -> float:
    """Min over all 3^7 plans of Σ cost + w · max balanced load, capacities checked here."""
    use = p.use.toarray()
    best = np.inf
    for plan in itertools.product(*(range(p.item_ptr[i], p.item_ptr[i + 1]) for i in range(7))):
        loads = use[:, list(plan)].sum(axis=1)
        if np.all(loads <= p.capacity + 1e-9):
            z = p.col_cost[list(plan)].sum() + p.balance_weight * loads[p.balanced].max()
            best = min(best, z)
    return float(best)


def test_milp_optimum_is_the_same_with_heuristics_on_and_off(monkeypatch):
    p = _small_problem()
    z = _brute_force(p)
    assert np.isfinite(z)
    on = get_solver("milp")(p, seed=0, threads=1, warm_start="none")
    assert on.status == "optimal" and on.stats["dense_row_guard"] is False
    assert on.objective == pytest.approx(z, rel=1e-9)
    # the guard forced on: sub-MIP heuristics and restarts off, the same optimum
    monkeypatch.setattr(highs, "has_dense_row", lambda *args: True)
    off = get_solver("milp")(p, seed=0, threads=1, warm_start="none")
    assert off.status == "optimal" and off.stats["dense_row_guard"] is True
    assert off.objective == pytest.approx(z, rel=1e-9)
