"""What a solve returns: the statuses of docs/model.md §7, a solver's raw outcome, and
the refereed result every caller (CLI, batch, tests) sees.

A solver module returns an :class:`Outcome` (its plan, a status hint, a bound,
statistics); the registry hands it to the referee (:mod:`edgeopt.core.referee`),
which re-checks the plan with the evaluator, makes the status honest and returns
a :class:`SolveResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

import numpy as np

from edgeopt.core.evaluate import Evaluation
from edgeopt.core.gaps import proof_gap
from edgeopt.jsonio import jsonable

__all__ = [
    "Status",
    "STATUSES",
    "PLAN_STATUSES",
    "Outcome",
    "SolveResult",
    "Interrupted",
]

#: What a status may be (docs/model.md §7); ``bound`` is for relaxations that report only a bound.
Status = Literal["optimal", "feasible", "time_limit", "infeasible", "error", "bound"]
#: The statuses as a tuple, for checks at run time.
STATUSES: tuple[Status, ...] = get_args(Status)
#: Statuses that carry a feasible plan.
PLAN_STATUSES: tuple[Status, ...] = ("optimal", "feasible", "time_limit")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a solve. ``partial`` is what was found so far, filled in on the way
    up: the HiGHS results in the driver, an :class:`Outcome` in a solver, a refereed
    :class:`SolveResult` past the registry (None when nothing was kept). Anything that does not
    look at it sees a plain ``KeyboardInterrupt`` and stops as before."""

    def __init__(self, partial: Any = None):
        super().__init__()
        self.partial = partial


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
    status: Status | None = None
    bound: float | None = None
    objective: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass(eq=False)
class SolveResult:
    """The outcome of one solve, refereed.

    ``objective`` is Z in the internal (minimisation) sense and is the
    evaluator's; ``bound`` is a proven lower bound on Z when the solver has one;
    ``settings`` holds every option the solver ran with (defaults included).
    ``evaluation`` is the referee's working, derived from the plan: it is not
    part of :meth:`to_dict` nor of equality.
    """

    solver: str
    status: Status
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
        """The proof gap (Z − bound)/max(|Z|, 1) when both exist (:func:`~edgeopt.core.gaps.proof_gap`)."""
        return proof_gap(self.objective, self.bound)

    @property
    def has_plan(self) -> bool:
        return self.status in PLAN_STATUSES and self.assignment is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data (the plan as a list of column indices), e.g. to cross a process
        boundary; :meth:`from_dict` reads it back. Settings and stats go through
        :func:`edgeopt.jsonio.jsonable` (numpy values become Python ones, non-finite numbers
        None). The evaluation is left out: whoever reads the result referees the plan again."""
        return {
            "solver": self.solver,
            "status": self.status,
            "assignment": None if self.assignment is None else self.assignment.tolist(),
            "objective": None if self.objective is None else float(self.objective),
            "bound": None if self.bound is None else float(self.bound),
            "wall_s": float(self.wall_s),
            "settings": jsonable(self.settings),
            "stats": jsonable(self.stats),
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SolveResult:
        """The result :meth:`to_dict` wrote (without an evaluation)."""
        a = data["assignment"]
        return cls(
            solver=data["solver"],
            status=data["status"],
            assignment=None if a is None else np.asarray(a, dtype=np.int64).reshape(-1),
            objective=data["objective"],
            bound=data["bound"],
            wall_s=data["wall_s"],
            settings=dict(data["settings"]),
            stats=dict(data["stats"]),
            message=data["message"],
        )

    def as_outcome(self) -> Outcome:
        """This result as a raw answer, to referee it again (e.g. after a process boundary)."""
        return Outcome(
            self.assignment,
            self.status,
            bound=self.bound,
            objective=self.objective,
            stats=dict(self.stats),
            message=self.message,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SolveResult):
            return NotImplemented
        for f in fields(self):
            if f.name == "evaluation":
                continue
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "assignment":
                if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b)):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]  # mutable, like any dataclass with eq
