"""The referee: a solver's raw :class:`~edgeopt.core.result.Outcome` made an honest
:class:`~edgeopt.core.result.SolveResult` (docs/model.md §7).

The one place where statuses are judged. The registry calls it on every solve;
the batch runner calls it again on what a worker sends back, so a result that
crossed a process boundary is held to the same rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeopt.core.evaluate import evaluate, objectives_agree
from edgeopt.core.problem import Problem
from edgeopt.core.result import Outcome, SolveResult, Status
from edgeopt.errors import SolverError

__all__ = ["referee"]


def referee(
    problem: Problem,
    solver: str,
    out: Outcome,
    *,
    wall_s: float = 0.0,
    settings: dict[str, Any] | None = None,
) -> SolveResult:
    """Turn a raw :class:`Outcome` into an honest :class:`SolveResult`.

    The objective is always the evaluator's; a solver-reported objective must
    agree with it (:func:`~edgeopt.core.evaluate.objectives_agree`) and a bound
    must not exceed the plan's objective, else :class:`SolverError`. ``optimal``
    stands only when the bound meets the objective (the same agreement); an
    infeasible plan becomes ``error``; a claimed plan status without a plan
    becomes ``error``. Refereeing a refereed result changes nothing.
    """
    status: Status | None = out.status
    message = out.message
    bound = out.bound
    stats = dict(out.stats)
    ev = None
    objective = None
    assignment = out.assignment
    if assignment is not None:
        assignment = np.asarray(assignment, dtype=np.int64).reshape(-1)
        if assignment.shape[0] != problem.n_items:
            raise SolverError(
                f"{solver}: returned {assignment.shape[0]} assignments for {problem.n_items} items"
            )
        ev = evaluate(problem, assignment)
        objective = ev.objective
        if out.objective is not None and not objectives_agree(out.objective, objective):
            raise SolverError(
                f"{solver}: reported objective {out.objective!r} but the evaluator finds {objective!r}"
            )
        if not ev.feasible:
            status = "error"
            message = f"{solver}: plan fails the evaluator: " + "; ".join(ev.violations[:3])
        else:
            if bound is not None and bound > objective and not objectives_agree(bound, objective):
                raise SolverError(
                    f"{solver}: bound {bound!r} exceeds the plan's objective {objective!r}"
                )
            if status in (None, "feasible", "error", "bound", "infeasible"):
                status = "feasible"
            if status == "optimal" and (bound is None or not objectives_agree(bound, objective)):
                status = "feasible"
                why = (
                    "no proven bound" if bound is None else f"bound {bound:.9g} < Z {objective:.9g}"
                )
                message = f"{message + '; ' if message else ''}not proven optimal ({why})"
                stats["optimal_claim_refused"] = why
    else:
        if status in (None, "optimal", "feasible"):
            status = "error"
            message = message or f"{solver}: no plan"
        if status == "time_limit" and not message:
            message = "no plan within the time limit"
    assert status is not None
    return SolveResult(
        solver=solver,
        status=status,
        assignment=assignment,
        objective=objective,
        bound=bound,
        wall_s=wall_s,
        settings=dict(settings or {}),
        stats=stats,
        message=message,
        evaluation=ev,
    )
