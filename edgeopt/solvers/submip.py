"""MILPs over a subset of columns, built straight from the problem's arrays (no Pyomo).

LNS re-solves, the reduced-cost restricted MILP of ``best`` and any other
"solve this part exactly" step build the model of docs/model.md §5 here: one binary
per kept column, U when some resource is balanced, assignment rows (= 1),
capacity rows (≤ cap − fixed load) and balance rows (a·x − U ≤ −fixed load),
and hand it to the one HiGHS driver (:func:`edgeopt.solvers.highs.solve_arrays`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from edgeopt.core.evaluate import FEAS_TOL
from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import RESIDUAL_RTOL
from edgeopt.errors import SolverError
from edgeopt.solvers.highs import HighsOptions, MilpResults, solve_arrays

__all__ = ["solve_columns"]


def solve_columns(
    problem: Problem,
    cols: np.ndarray,
    options: HighsOptions,
    *,
    start: np.ndarray | None = None,
    fixed_load: np.ndarray | None = None,
) -> tuple[MilpResults, np.ndarray | None]:
    """Solve the MILP of ``problem``'s items that own a column of ``cols`` (sorted global column
    ids), over those columns only, with ``fixed_load`` already on the resources.

    ``start``: one global column per such item (in item order), passed as the MIP start.
    Returns HiGHS's results and, when it has an incumbent, one global column per item (in the
    order of ``np.unique(problem.col_item[cols])``).
    """
    cols = np.asarray(cols, dtype=np.int64)
    items, local_item = np.unique(problem.col_item[cols], return_inverse=True)
    k, n_i = cols.size, items.size
    fixed = np.zeros(problem.n_resources) if fixed_load is None else np.asarray(fixed_load)
    use = sp.csr_array(problem.use[:, cols])
    cap_rows = np.flatnonzero(np.diff(use.indptr))  # the resources some kept column uses
    bal_rows = np.flatnonzero(problem.balanced)
    has_u = bal_rows.size > 0
    w_u = float(problem.balance_weight) if has_u else 0.0
    n_var = k + (1 if has_u else 0)
    # assignment rows
    blocks = [sp.csr_array((np.ones(k), (local_item, np.arange(k))), shape=(n_i, n_var))]
    lower = [np.ones(n_i)]
    upper = [np.ones(n_i)]
    # capacity rows in units of their capacity (load / cap ≤ 1, the evaluator's own test), as
    # milp_model writes them: raw links run to 4e6 MB against 1e-3 MB uses, which HiGHS's
    # presolve handles badly; what is left of a capacity keeps the evaluator's tolerance and a
    # float-noise residual (1e-13) is cut to 0
    capacity = problem.capacity[cap_rows]
    left = np.maximum(capacity * (1.0 + FEAS_TOL) - fixed[cap_rows], 0.0)
    left[left < RESIDUAL_RTOL * capacity] = 0.0
    scaled = sp.diags_array(1.0 / capacity) @ use[cap_rows]
    cap_block = sp.hstack([scaled, sp.csr_array((cap_rows.size, n_var - k))])
    blocks.append(sp.csr_array(cap_block))
    lower.append(np.full(cap_rows.size, -np.inf))
    upper.append(left / capacity)
    u_lower = 0.0
    if has_u:
        touched = bal_rows[np.diff(use.indptr)[bal_rows] > 0]
        untouched = np.setdiff1d(bal_rows, touched)
        if untouched.size:
            u_lower = max(0.0, float(fixed[untouched].max()))
        bal_block = sp.hstack([use[touched], sp.csr_array(-np.ones((touched.size, 1)))])
        blocks.append(sp.csr_array(bal_block))
        lower.append(np.full(touched.size, -np.inf))
        upper.append(-fixed[touched])
    a = sp.csc_array(sp.vstack(blocks))
    cost = np.r_[problem.col_cost[cols], [w_u] if has_u else []]
    col_lower = np.r_[np.zeros(k), [u_lower] if has_u else []]
    col_upper = np.r_[np.ones(k), [np.inf] if has_u else []]
    integer = np.r_[np.ones(k, dtype=bool), [False] if has_u else []]
    x0 = None
    if start is not None:
        pos = np.searchsorted(cols, np.asarray(start, dtype=np.int64))
        if pos.size != n_i or (pos >= k).any() or (cols[np.minimum(pos, k - 1)] != start).any():
            raise SolverError("submip: the start uses a column outside the kept set")
        x0 = np.zeros(n_var)
        x0[pos] = 1.0
        if has_u:
            loads = fixed + np.asarray(problem.use[:, start].sum(axis=1)).ravel()
            x0[k] = max(u_lower, float(loads[bal_rows].max()), 0.0)
    res = solve_arrays(
        cost=cost,
        a=a,
        row_lower=np.concatenate(lower),
        row_upper=np.concatenate(upper),
        col_lower=col_lower,
        col_upper=col_upper,
        integer=integer,
        options=options,
        start=x0,
    )
    assignment = None
    if res.x is not None:
        chosen = np.flatnonzero(res.x[:k] > 0.5)
        counts = np.bincount(local_item[chosen], minlength=n_i)
        if (counts == 1).all():
            assignment = np.empty(n_i, dtype=np.int64)
            assignment[local_item[chosen]] = cols[chosen]
    return res, assignment
