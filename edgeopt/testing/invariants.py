"""Invariants every planner's output must satisfy, checked by the evaluator (the
referee), and the MILP's proven optimum of small problems to measure gaps against.

Every helper takes either a :class:`~edgeopt.core.result.SolveResult` or a bare
assignment (column index per item) and raises ``AssertionError`` with a
readable message, so they read naturally inside hypothesis properties.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from typing import Any

import numpy as np

from edgeopt.core.evaluate import OBJ_RTOL, Evaluation, evaluate, objectives_agree
from edgeopt.core.problem import Problem

__all__ = [
    "assert_feasible",
    "assert_objective_consistent",
    "assert_within_gap",
    "proven_optimum",
    "problem_digest",
    "NotProvenError",
]


class NotProvenError(AssertionError):
    """The MILP did not prove an optimum (time limit, error, or proven infeasible)."""


def _assignment(solution: Any) -> np.ndarray:
    """The assignment of a SolveResult-like object or of an array."""
    a = getattr(solution, "assignment", solution)
    if a is None:
        status = getattr(solution, "status", "?")
        raise AssertionError(f"the solver returned no assignment (status {status!r})")
    return np.asarray(a, dtype=np.int64).reshape(-1)


def _describe(problem: Problem, a: np.ndarray) -> str:
    parts = []
    for i, j in enumerate(a):
        parts.append(
            problem.column_label(int(j))
            if 0 <= j < problem.n_columns
            else f"{problem.item_ids[i]}/-"
        )
    return "[" + ", ".join(parts) + "]"


def assert_feasible(problem: Problem, solution: Any) -> Evaluation:
    """Assert that ``solution`` assigns every item one of its columns and fits every capacity.

    Parameters
    ----------
    problem : Problem
    solution : SolveResult or array of int
        A solver's result, or a column index per item.

    Returns
    -------
    Evaluation
        The referee's evaluation, for further checks.

    Examples
    --------
    >>> import numpy as np
    >>> p = Problem.from_columns(name="t", item_ids=["a", "b"], bin_ids=["x"],
    ...     option_ids=["o"], resource_ids=["cap:x"], col_item=[0, 1], col_bin=[0, 0],
    ...     col_option=[0, 0], col_cost=[1.0, 2.0], use_rows=[0, 0], use_cols=[0, 1],
    ...     use_vals=[3.0, 4.0], capacity=[5.0])
    >>> assert_feasible(p, np.array([0, 1]))
    Traceback (most recent call last):
    ...
    AssertionError: infeasible plan [a/o@x, b/o@x]: cap:x: load 7 > capacity 5
    """
    a = _assignment(solution)
    if a.shape[0] != problem.n_items:
        raise AssertionError(
            f"assignment has {a.shape[0]} entries, problem has {problem.n_items} items"
        )
    ev = evaluate(problem, a)
    if not ev.feasible:
        raise AssertionError(
            f"infeasible plan {_describe(problem, a)}: " + "; ".join(ev.violations)
        )
    return ev


def assert_objective_consistent(
    problem: Problem,
    solution: Any,
    objective: float | None = None,
    *,
    source_sense: bool = False,
) -> Evaluation:
    """Assert that the reported objective equals the evaluator's Z (to ``OBJ_RTOL`` relative).

    Parameters
    ----------
    problem : Problem
    solution : SolveResult or array of int
        A result (its ``objective`` is the reported one) or an assignment.
    objective : float, optional
        The reported objective; required with a bare assignment, and overrides
        a result's ``objective`` when given.
    source_sense : bool
        ``objective`` is in the source's own sense (negated for ``"max"``
        problems) instead of the internal minimisation sense of ``SolveResult``.

    Examples
    --------
    >>> import numpy as np
    >>> p = Problem.from_columns(name="t", item_ids=["a"], bin_ids=["x"], option_ids=["o"],
    ...     resource_ids=["cap:x"], col_item=[0], col_bin=[0], col_option=[0],
    ...     col_cost=[1.5], use_rows=[0], use_cols=[0], use_vals=[1.0], capacity=[5.0])
    >>> assert_objective_consistent(p, np.array([0]), 1.5).objective
    1.5
    >>> assert_objective_consistent(p, np.array([0]), 1.6)
    Traceback (most recent call last):
    ...
    AssertionError: reported objective 1.6 but the evaluator finds 1.5 for [a/o@x]
    """
    a = _assignment(solution)
    reported = objective if objective is not None else getattr(solution, "objective", None)
    if reported is None:
        raise AssertionError("no reported objective to check (pass objective=...)")
    ev = evaluate(problem, a)
    want = ev.source_objective if source_sense else ev.objective
    if not (math.isfinite(float(reported)) and objectives_agree(float(reported), want)):
        raise AssertionError(
            f"reported objective {reported!r} but the evaluator finds {want!r} for {_describe(problem, a)}"
        )
    return ev


def assert_within_gap(problem: Problem, solution: Any, optimum: float, gap: float) -> float:
    """Assert that a feasible ``solution`` is within relative ``gap`` of ``optimum``.

    ``optimum`` is Z* in the internal (minimisation) sense, as returned by
    :func:`proven_optimum`. Checks Z* ≤ Z ≤ Z* + gap·|Z*| (each side with the
    evaluator's ``OBJ_RTOL`` slack): a feasible plan that *beats* a proven
    optimum is a bug as well. Returns the relative gap found (absolute when
    Z* = 0).

    Examples
    --------
    >>> import numpy as np
    >>> p = Problem.from_columns(name="t", item_ids=["a"], bin_ids=["x", "y"], option_ids=["o"],
    ...     resource_ids=["cap:x", "cap:y"], col_item=[0, 0], col_bin=[0, 1], col_option=[0, 0],
    ...     col_cost=[10.0, 11.0], use_rows=[0, 1], use_cols=[0, 1], use_vals=[1.0, 1.0],
    ...     capacity=[5.0, 5.0])
    >>> assert_within_gap(p, np.array([1]), optimum=10.0, gap=0.1)
    0.1
    >>> assert_within_gap(p, np.array([1]), optimum=10.0, gap=0.05)
    Traceback (most recent call last):
    ...
    AssertionError: Z = 11 is 10% above the optimum 10 (allowed 5%) for [a/o@y]
    """
    ev = assert_feasible(problem, solution)
    z = ev.objective
    slack = OBJ_RTOL * max(1.0, abs(z), abs(optimum))
    where = _describe(problem, _assignment(solution))
    if z < optimum - slack:
        raise AssertionError(f"Z = {z:.10g} beats the proven optimum {optimum:.10g} for {where}")
    found = (z - optimum) / abs(optimum) if optimum != 0 else z - optimum
    if z > optimum + gap * abs(optimum) + slack:
        raise AssertionError(
            f"Z = {z:.10g} is {found:.0%} above the optimum {optimum:.10g} (allowed {gap:.0%}) for {where}"
        )
    return max(found, 0.0)


# ------------------------------------------------------------------ proven optimum
_CACHE: OrderedDict[str, float] = OrderedDict()
_CACHE_SIZE = 4096


def problem_digest(problem: Problem) -> str:
    """sha256 of everything that defines a problem's optimum (arrays, weights, sense).

    Ids and names are left out: relabelled copies share a digest.
    """
    h = hashlib.sha256()
    use = problem.use
    for arr in (
        problem.item_ptr,
        problem.col_item,
        problem.col_bin,
        problem.col_cost,
        use.indptr,
        use.indices,
        use.data,
        problem.capacity,
        problem.balanced,
    ):
        x = np.ascontiguousarray(arr)
        h.update(str((x.dtype.str, x.shape)).encode())
        h.update(x.tobytes())
    h.update(repr((float(problem.balance_weight), problem.n_bins, problem.n_resources)).encode())
    return h.hexdigest()


def proven_optimum(
    problem: Problem,
    *,
    time_limit_s: float = 30.0,
    allow_infeasible: bool = False,
) -> float:
    """The MILP's proven optimum Z* of a small problem, internal (minimisation) sense.

    The result is cached by :func:`problem_digest`, so properties that solve
    the same problem twice pay once. The MILP's plan is refereed before it is
    trusted.

    Parameters
    ----------
    problem : Problem
        A small problem (the MILP must finish within ``time_limit_s``).
    time_limit_s : float
        Wall-clock limit of the MILP.
    allow_infeasible : bool
        Return ``math.inf`` for a proven-infeasible problem instead of raising.

    Raises
    ------
    NotProvenError
        When the MILP does not prove optimality (or infeasibility, if allowed).

    Examples
    --------
    >>> p = Problem.from_columns(name="t", item_ids=["a", "b"], bin_ids=["x", "y"],
    ...     option_ids=["o"], resource_ids=["cap:x", "cap:y"], col_item=[0, 0, 1, 1],
    ...     col_bin=[0, 1, 0, 1], col_option=[0, 0, 0, 0], col_cost=[1.0, 3.0, 1.0, 2.0],
    ...     use_rows=[0, 1, 0, 1], use_cols=[0, 1, 2, 3], use_vals=[4.0, 4.0, 4.0, 4.0],
    ...     capacity=[5.0, 5.0])
    >>> proven_optimum(p)
    3.0
    """
    key = problem_digest(problem)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        z = _CACHE[key]
    else:
        z = _solve_exactly(problem, time_limit_s)
        _CACHE[key] = z
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    if z == math.inf and not allow_infeasible:
        raise NotProvenError(f"{problem.name}: the MILP proves the problem infeasible (no optimum)")
    return z


def _solve_exactly(problem: Problem, time_limit_s: float) -> float:
    from edgeopt.solvers.registry import get_solver  # testing sits above solvers; import lazily

    res = get_solver("milp")(problem, seed=0, time_limit_s=time_limit_s)
    if res.status == "infeasible":
        return math.inf
    if res.status != "optimal" or res.objective is None:
        raise NotProvenError(
            f"{problem.name}: the MILP did not prove an optimum (status {res.status!r}: {res.message})"
        )
    assert_feasible(problem, res)
    assert_objective_consistent(problem, res)
    return float(res.objective)
