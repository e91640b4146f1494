"""The evaluator: the referee that recomputes every load, names every violated
constraint and computes Z with its weighted terms (docs/model.md §4–§5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import CAPACITY_LIMIT, FEAS_TOL, OBJ_RTOL

# FEAS_TOL, CAPACITY_LIMIT and OBJ_RTOL live in edgeopt.core.tolerances; re-exported here,
# where they are used.
__all__ = [
    "Evaluation",
    "evaluate",
    "FEAS_TOL",
    "CAPACITY_LIMIT",
    "over_capacity",
    "OBJ_RTOL",
    "objectives_agree",
]


@dataclass(frozen=True)
class Evaluation:
    """What the referee found for one assignment.

    ``objective`` is Z in the internal (minimisation) sense; ``source_objective``
    is Z in the source's own sense. ``terms`` holds ``balance`` (w_U * U) and
    each column term, weighted, summing to ``objective``.
    """

    feasible: bool
    complete: bool
    objective: float
    source_objective: float
    terms: dict[str, float]
    max_balanced: float
    loads: np.ndarray
    utilisation: np.ndarray
    violations: tuple[str, ...]


def objectives_agree(a: float, b: float, rtol: float = OBJ_RTOL) -> bool:
    """True when two objective values agree to ``rtol`` relative to max(1, |a|, |b|).

    >>> objectives_agree(1000.0, 1000.0005), objectives_agree(0.0, 2e-6)
    (True, False)
    """
    return abs(a - b) <= rtol * max(1.0, abs(a), abs(b))


def over_capacity(load: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Where ``load`` exceeds ``capacity`` (elementwise): the test the referee and every plan
    state share, ``load / capacity > 1 + FEAS_TOL``.

    >>> over_capacity(np.array([5.0, 5.000000001, 5.1]), np.array([5.0, 5.0, 5.0])).tolist()
    [False, False, True]
    """
    return load / capacity > CAPACITY_LIMIT


def evaluate(problem: Problem, assignment: np.ndarray) -> Evaluation:
    """Evaluate ``assignment`` (column index per item, -1 = unassigned).

    Loads and terms are computed only over valid entries; an invalid or missing
    entry makes the evaluation incomplete and infeasible, with a named violation.

    Examples
    --------
    >>> import numpy as np
    >>> p = Problem.from_columns(name="t", item_ids=["a", "b"], bin_ids=["x"],
    ...     option_ids=["o"], resource_ids=["cap:x"], col_item=[0, 1], col_bin=[0, 0],
    ...     col_option=[0, 0], col_cost=[1.0, 2.0], use_rows=[0, 0], use_cols=[0, 1],
    ...     use_vals=[3.0, 4.0], capacity=[5.0])
    >>> ev = evaluate(p, np.array([0, 1]))
    >>> ev.objective, ev.feasible, ev.violations
    (3.0, False, ('cap:x: load 7 > capacity 5',))
    """
    a = np.asarray(assignment, dtype=np.int64).reshape(-1)
    violations: list[str] = []
    if a.shape[0] != problem.n_items:
        raise ValueError(
            f"assignment has {a.shape[0]} entries, problem has {problem.n_items} items"
        )
    lo = problem.item_ptr[:-1]
    hi = problem.item_ptr[1:]
    valid = (a >= lo) & (a < hi)
    if not valid.all():
        for i in np.flatnonzero(~valid):
            what = "unassigned" if a[i] < 0 else f"column {a[i]} is not one of its columns"
            violations.append(f"item {problem.item_ids[i]}: {what}")
    cols = a[valid]
    counts = np.bincount(cols, minlength=problem.n_columns).astype(np.float64)
    loads = np.asarray(problem.use @ counts, dtype=np.float64)
    util = loads / problem.capacity
    over = np.flatnonzero(over_capacity(loads, problem.capacity))
    for r in over:
        violations.append(
            f"{problem.resource_ids[r]}: load {loads[r]:.6g} > capacity {problem.capacity[r]:.6g}"
        )
    u_max = float(loads[problem.balanced].max()) if problem.balanced.any() else 0.0
    u_max = max(u_max, 0.0)
    term_vals = (
        problem.col_terms[cols].sum(axis=0) if cols.size else np.zeros(len(problem.term_names))
    )
    terms = {"balance": problem.balance_weight * u_max}
    for name, v in zip(problem.term_names, term_vals):
        terms[name] = float(v)
    z = float(problem.balance_weight * u_max + problem.col_cost[cols].sum())
    complete = bool(valid.all())
    return Evaluation(
        feasible=complete and over.size == 0,
        complete=complete,
        objective=z,
        source_objective=problem.source_objective(z),
        terms=terms,
        max_balanced=u_max,
        loads=loads,
        utilisation=util,
        violations=tuple(violations),
    )
