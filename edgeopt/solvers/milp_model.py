"""The MILP of docs/model.md §5 as a Pyomo model, and its compilation to sparse arrays.

``build_model`` is pure and reads like §5, one named rule per constraint family
(``assign_once``, ``capacity``, ``balance``); ``compile_model`` turns it into the
arrays :mod:`edgeopt.solvers.highs` hands to HiGHS in one call (Pyomo's
persistent HiGHS interfaces walk every constraint in Python and cost 4–6× more
per column). With ``fixed_load`` the model is the sub-problem LNS re-solves: the
loads of the items left out are constants on every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from edgeopt.core.evaluate import FEAS_TOL
from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import RESIDUAL_RTOL
from edgeopt.errors import InputError

__all__ = ["build_model", "CompiledModel", "compile_model"]


def build_model(
    problem: Problem,
    fixed_load: np.ndarray | None = None,
    load_order: list[tuple[int, int]] | None = None,
) -> Any:
    """The Pyomo model of docs/model.md §5 for ``problem`` (pure: no solver is touched).

    ``fixed_load`` (per resource) is load already placed by items outside the
    model: capacity rows get ``cap·(1 + FEAS_TOL) − fixed`` (at least 0), balance rows ``Σ a·x + fixed ≤ U``,
    and U is at least the largest fixed balanced load.

    ``load_order`` pairs (r, r') add the family ``symmetry_order``: load(r) ≥ load(r'),
    which breaks the symmetry of interchangeable bins (:mod:`edgeopt.solvers.symmetry`).

    Indices are positions: ``x[j]`` is column ``j`` of the problem, ``assign_once[i]``
    item ``i``, ``capacity[l]`` and ``balance[l]`` resource ``l``. ``U`` and the
    ``balance`` family exist only when some resource is balanced; a capacity row
    no column uses is left out.

    Examples
    --------
    >>> p = Problem.from_columns(name="t", item_ids=["a", "b"], bin_ids=["x", "y"],
    ...     option_ids=["-"], resource_ids=["x", "y"], col_item=[0, 0, 1],
    ...     col_bin=[0, 1, 0], col_option=[0, 0, 0], col_cost=[1.0, 2.0, 3.0],
    ...     use_rows=[0, 1, 0], use_cols=[0, 1, 2], use_vals=[1.0, 1.0, 1.0],
    ...     capacity=[1.0, 1.0], balanced=[True, True], balance_weight=0.5)
    >>> m = build_model(p)
    >>> len(m.x), len(m.assign_once), len(m.capacity), len(m.balance)
    (3, 2, 2, 2)
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    empty = problem.empty_items
    if empty:
        raise InputError(f"no admissible column for item(s): {', '.join(empty[:5])}")
    ptr = problem.item_ptr
    use = problem.use_csr
    if fixed_load is None:
        fixed = np.zeros(problem.n_resources)
        cap = problem.capacity
    else:
        # What is left of each capacity, with the evaluator's tolerance and never below 0: a
        # residual of float noise (1e-13) makes HiGHS's presolve chase meaningless coefficients.
        fixed = np.asarray(fixed_load, dtype=float)
        cap = np.maximum(problem.capacity * (1.0 + FEAS_TOL) - fixed, 0.0)
        cap[cap < RESIDUAL_RTOL * problem.capacity] = 0.0
    balanced = np.flatnonzero(problem.balanced)

    m = pyo.ConcreteModel(name=problem.name)
    m.x = pyo.Var(range(problem.n_columns), domain=pyo.Binary)
    x = list(m.x.values())
    used_rows = np.flatnonzero(np.diff(use.indptr))

    def row(r: int) -> tuple[list[float], list[Any]]:
        lo, hi = use.indptr[r], use.indptr[r + 1]
        return use.data[lo:hi].tolist(), [x[j] for j in use.indices[lo:hi].tolist()]

    # LinearExpression with precomputed coefficient lists skips Pyomo's operator
    # overloading: building costs about 1 µs per nonzero instead of tens.
    def assign_once(m: Any, i: int) -> Any:
        lo, hi = int(ptr[i]), int(ptr[i + 1])
        return (
            LinearExpression(constant=0.0, linear_coefs=[1.0] * (hi - lo), linear_vars=x[lo:hi])
            == 1
        )

    # Capacity rows in units of their capacity (load / cap ≤ 1, the evaluator's own test):
    # raw links run to 4e6 MB against 1e-3 MB uses, which HiGHS's presolve handles badly.
    def capacity(m: Any, r: int) -> Any:
        coefs, xs = row(r)
        scale = 1.0 / float(problem.capacity[r])
        return (
            LinearExpression(constant=0.0, linear_coefs=[c * scale for c in coefs], linear_vars=xs)
            <= float(cap[r]) * scale
        )

    m.assign_once = pyo.Constraint(range(problem.n_items), rule=assign_once)
    m.capacity = pyo.Constraint(used_rows.tolist(), rule=capacity)
    cost_coefs = problem.col_cost.tolist()
    cost_vars = list(x)
    if balanced.size:
        m.U = pyo.Var(
            domain=pyo.NonNegativeReals, bounds=(max(float(fixed[balanced].max()), 0.0), None)
        )

        def balance(m: Any, r: int) -> Any:
            coefs, xs = row(r)
            return LinearExpression(
                constant=0.0, linear_coefs=[*coefs, -1.0], linear_vars=[*xs, m.U]
            ) <= -float(fixed[r])

        m.balance = pyo.Constraint(balanced.tolist(), rule=balance)
        cost_coefs.append(float(problem.balance_weight))
        cost_vars.append(m.U)
    if load_order:

        def symmetry_order(m: Any, k: int) -> Any:
            c1, x1 = row(load_order[k][0])
            c2, x2 = row(load_order[k][1])
            return (
                LinearExpression(
                    constant=0.0, linear_coefs=c1 + [-c for c in c2], linear_vars=x1 + x2
                )
                >= 0
            )

        m.symmetry_order = pyo.Constraint(range(len(load_order)), rule=symmetry_order)
    m.total_cost = pyo.Objective(
        expr=LinearExpression(constant=0.0, linear_coefs=cost_coefs, linear_vars=cost_vars),
        sense=pyo.minimize,
    )
    return m


@dataclass(frozen=True)
class CompiledModel:
    """A Pyomo model as HiGHS arrays: min c·v s.t. row_lower ≤ A v ≤ row_upper, bounds, integrality.

    ``x_pos[j]`` is the matrix column of ``x[j]`` and ``u_pos`` that of ``U`` (-1 if absent).
    """

    cost: np.ndarray
    offset: float
    a: sp.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    x_pos: np.ndarray
    u_pos: int

    @property
    def n_vars(self) -> int:
        return int(self.cost.shape[0])

    @property
    def n_cons(self) -> int:
        return int(self.row_lower.shape[0])


def compile_model(model: Any) -> CompiledModel:
    """Compile a :func:`build_model` model with Pyomo's standard-form compiler."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    order = list(model.x.values())
    u = getattr(model, "U", None)
    if u is not None:
        order.append(u)
    info = LinearStandardFormCompiler().write(model, mixed_form=True, column_order=order)
    cols = info.columns
    pos = {id(v): k for k, v in enumerate(cols)}
    x_pos = np.fromiter(
        (pos.get(id(v), -1) for v in model.x.values()), dtype=np.int64, count=len(model.x)
    )
    bound_type = np.fromiter(
        (r.bound_type for r in info.rows), dtype=np.int64, count=len(info.rows)
    )
    rhs = np.asarray(info.rhs, dtype=np.float64)
    inf = np.inf
    lower = np.where(bound_type <= 0, rhs, -inf)  # 0: equality, -1: lower bound
    upper = np.where(bound_type >= 0, rhs, inf)  # 1: upper bound
    lb = np.array([-inf if v.lb is None else v.lb for v in cols], dtype=np.float64)
    ub = np.array([inf if v.ub is None else v.ub for v in cols], dtype=np.float64)
    integer = np.array([v.is_integer() for v in cols], dtype=bool)
    cost = np.asarray(info.c.toarray()).reshape(-1) if info.c.shape[0] else np.zeros(len(cols))
    return CompiledModel(
        cost=cost,
        offset=float(info.c_offset[0]) if len(info.c_offset) else 0.0,
        a=sp.csc_array(info.A),
        row_lower=lower,
        row_upper=upper,
        col_lower=lb,
        col_upper=ub,
        integer=integer,
        x_pos=x_pos,
        u_pos=pos.get(id(u), -1) if u is not None else -1,
    )
