"""What a solve returns: the statuses of docs/model.md §7, a solver's raw outcome, and
the refereed result every caller (CLI, batch, tests) sees.

A solver module returns an :class:`Outcome` (its plan, a status hint, a bound,
statistics); the registry turns it into a :class:`SolveResult` after the
evaluator has re-checked the plan and the status has been made honest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeopt.core.evaluate import Evaluation

__all__ = [
    "STATUSES",
    "PLAN_STATUSES",
    "Outcome",
    "SolveResult",
    "Interrupted",
    "relative_gap",
]

#: What a status may be (docs/model.md §7); ``bound`` is for relaxations that report only a bound.
STATUSES = ("optimal", "feasible", "time_limit", "infeasible", "error", "bound")
#: Statuses that carry a feasible plan.
PLAN_STATUSES = ("optimal", "feasible", "time_limit")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a solve. ``partial`` is what was found so far, filled in on the way
    up: the HiGHS results in the driver, an :class:`Outcome` in a solver, a refereed
    :class:`SolveResult` past the registry (None when nothing was kept). Anything that does not
    look at it sees a plain ``KeyboardInterrupt`` and stops as before."""

    def __init__(self, partial: Any = None):
        super().__init__()
        self.partial = partial


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """(Z − bound) / max(|Z|, 1): the gap a proven bound leaves (None if either is missing)."""
    if objective is None or bound is None:
        return None
    return (objective - bound) / max(abs(objective), 1.0)


@dataclass
class Outcome:
    """A solver algorithm's raw answer, before the referee.

    ``assignment`` holds one column index per item (or None: no plan).
    ``status`` is a hint: ``optimal`` (the solver claims a proof; the registry
    keeps it only when ``bound`` meets the refereed objective), ``time_limit``,
    ``infeasible`` (a proof), ``bound`` (a relaxation), ``error``; None means
    "a plan, nothing proven". ``objective`` is what the solver itself computed
    (checked against the referee when given).
    """

    assignment: np.ndarray | None
    status: str | None = None
    bound: float | None = None
    objective: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass
class SolveResult:
    """The outcome of one solve, refereed.

    ``objective`` is Z in the internal (minimisation) sense and is the
    evaluator's; ``bound`` is a proven lower bound on Z when the solver has one;
    ``settings`` holds every option the solver ran with (defaults included).
    """

    solver: str
    status: str
    assignment: np.ndarray | None
    objective: float | None
    bound: float | None = None
    wall_s: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    evaluation: Evaluation | None = None

    @property
    def gap(self) -> float | None:
        """Relative gap (Z − bound)/max(|Z|, 1) when both exist."""
        return relative_gap(self.objective, self.bound)

    @property
    def has_plan(self) -> bool:
        return self.status in PLAN_STATUSES and self.assignment is not None
