"""Symmetry breaking in the MILP: interchangeable bins are found exactly, and ordering their
loads never changes the optimum (metamorphic: relabelled bins give the same Z*)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from edgeopt.core.problem import Problem
from edgeopt.solvers.registry import get_solver
from edgeopt.solvers.symmetry import interchangeable_bins


@st.composite
def planted(draw) -> tuple[Problem, int]:
    """A problem whose first ``copies`` bins are copies of one bin type (same costs, uses and
    capacities on private resources), plus a few distinct bins and a shared resource."""
    n_items = draw(st.integers(2, 6))
    copies = draw(st.integers(2, 3))
    others = draw(st.integers(0, 2))
    n_bins = copies + others
    n_opt = draw(st.integers(1, 2))
    num = st.integers(1, 9).map(float)
    shared_cap = draw(num) * n_items
    cols, rows, vals, caps, bal = [], [], [], [], []
    # resources: per bin (compute, memory), then one shared link
    for b in range(n_bins):
        spec = 0 if b < copies else b
        caps += [
            draw(num) if b == 0 or spec == b else caps[0],
            draw(num) * 2 if b == 0 or spec == b else caps[1],
        ]
        bal += [True, False]
    caps.append(shared_cap)
    bal.append(False)
    link = 2 * n_bins
    for i in range(n_items):
        for o in range(n_opt):
            typ = [
                draw(num) for _ in range(4)
            ]  # cost, compute, memory, link use of the copied type
            for b in range(n_bins):
                c, u, m, lk = typ if b < copies else [draw(num) for _ in range(4)]
                j = len(cols)
                cols.append((i, b, o, c))
                rows += [2 * b, 2 * b + 1, link]
                vals += [u, m, lk * 0.5]
                _ = j
    p = Problem.from_columns(
        name="planted",
        item_ids=[f"i{i}" for i in range(n_items)],
        bin_ids=[f"b{b}" for b in range(n_bins)],
        option_ids=[f"o{o}" for o in range(n_opt)],
        resource_ids=[f"{k}:{b}" for b in range(n_bins) for k in ("compute", "memory")] + ["link"],
        col_item=[c[0] for c in cols],
        col_bin=[c[1] for c in cols],
        col_option=[c[2] for c in cols],
        col_cost=[c[3] for c in cols],
        use_rows=rows,
        use_cols=np.repeat(np.arange(len(cols)), 3),
        use_vals=vals,
        capacity=caps,
        balanced=bal,
        balance_weight=draw(st.sampled_from([0.0, 1.0, 5.0])),
    )
    return p, copies


@given(planted())
def test_planted_copies_are_found(pc):
    p, copies = pc
    classes = interchangeable_bins(p)
    assert any(set(range(copies)) <= set(c) for c in classes)
    for c in classes:  # every reported class really is symmetric: same costs bin by bin
        ref = np.sort(p.col_cost[p.col_bin == c[0]])
        for b in c[1:]:
            np.testing.assert_array_equal(np.sort(p.col_cost[p.col_bin == b]), ref)


@given(planted(), st.randoms(use_true_random=False))
def test_symmetry_breaking_never_changes_the_optimum(pc, rnd):
    p, _ = pc
    on = get_solver("milp")(p, seed=0, symmetry=True, threads=1)
    off = get_solver("milp")(p, seed=0, symmetry=False, warm_start="none", threads=1)
    assert (on.status == "infeasible") == (off.status == "infeasible")
    if off.status == "optimal" and on.status == "optimal":
        assert math.isclose(on.objective, off.objective, rel_tol=1e-6, abs_tol=1e-9)
        # relabel the bins: the optimum does not move
        perm = list(range(p.n_bins))
        rnd.shuffle(perm)
        q = Problem.from_columns(
            name="relabelled",
            item_ids=p.item_ids,
            bin_ids=[p.bin_ids[b] for b in perm],
            option_ids=p.option_ids,
            resource_ids=p.resource_ids,
            col_item=p.col_item,
            col_bin=np.argsort(perm)[p.col_bin],
            col_option=p.col_option,
            col_cost=p.col_cost,
            use_rows=p.use.tocoo().row,
            use_cols=p.use.tocoo().col,
            use_vals=p.use.tocoo().data,
            capacity=p.capacity,
            balanced=p.balanced,
            balance_weight=p.balance_weight,
        )
        again = get_solver("milp")(q, seed=0, symmetry=True, threads=1)
        if again.status == "optimal":
            assert math.isclose(again.objective, off.objective, rel_tol=1e-6, abs_tol=1e-9)


def test_symmetric_classes_are_reported_in_the_stats():
    p = Problem.from_columns(
        name="t",
        item_ids=["a", "b"],
        bin_ids=["x", "y", "z"],
        option_ids=["-"],
        resource_ids=["x", "y", "z"],
        col_item=[0, 0, 0, 1, 1, 1],
        col_bin=[0, 1, 2, 0, 1, 2],
        col_option=[0] * 6,
        col_cost=[1.0, 1.0, 2.0, 3.0, 3.0, 3.0],
        use_rows=[0, 1, 2, 0, 1, 2],
        use_cols=[0, 1, 2, 3, 4, 5],
        use_vals=[1.0] * 6,
        capacity=[2.0, 2.0, 2.0],
        balanced=[True] * 3,
        balance_weight=1.0,
    )
    res = get_solver("milp")(p, seed=0, symmetry=True)
    assert res.stats["symmetric_classes"] == [["x", "y"]]
    assert get_solver("milp")(p, seed=0).stats["symmetric_classes"] == []  # off by default
    # by hand: a on x or y (1.0), b on the other copy or z (3.0); loads 1 and 1: Z = 4 + 1 = 5
    assert res.status == "optimal" and res.objective == 5.0
