"""One interface for every solver, and the name → solver registry.

A solver is a callable ``solve(problem, *, seed, time_limit_s, **options) ->
SolveResult``. Register it with :func:`register`; the CLI, the batch runner and
the tests find it by name.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from edgeopt.core.evaluate import Evaluation, evaluate, objectives_agree
from edgeopt.core.problem import Problem
from edgeopt.errors import InputError, SolverError

__all__ = [
    "STATUSES",
    "SolveResult",
    "Solver",
    "register",
    "get_solver",
    "solver_names",
    "solver_descriptions",
    "register_composite",
    "finish",
    "infeasible_result",
    "parse_options",
]

#: What a status may be (MODEL.md §7).
STATUSES = ("optimal", "feasible", "time_limit", "infeasible", "error", "bound")


@dataclass
class SolveResult:
    """The outcome of one solve.

    ``assignment`` holds one column index per item (-1 = unassigned) or is None
    when the solver found nothing. ``objective`` is Z in the *internal*
    (minimisation) sense and equals the evaluator's; ``bound`` is a proven lower
    bound on Z when the solver has one. Status ``bound`` is for relaxations that
    report only a bound, never a plan.
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
        """Relative gap (Z − bound)/|Z| when both exist."""
        if self.objective is None or self.bound is None:
            return None
        return (self.objective - self.bound) / max(abs(self.objective), 1e-12)


class Solver(Protocol):
    def __call__(
        self,
        problem: Problem,
        *,
        seed: int | None = None,
        time_limit_s: float | None = None,
        **options: Any,
    ) -> SolveResult: ...


_REGISTRY: dict[str, Callable[..., SolveResult]] = {}
_DESCRIPTIONS: dict[str, str] = {}
_COMPOSITES: dict[str, Callable[[str], Callable[..., SolveResult]]] = {}


def register(name: str, description: str = "") -> Callable[[Callable[..., SolveResult]], Callable[..., SolveResult]]:
    """Decorator: make ``fn`` available as solver ``name``."""

    def deco(fn: Callable[..., SolveResult]) -> Callable[..., SolveResult]:
        _REGISTRY[name] = fn
        _DESCRIPTIONS[name] = description or (fn.__doc__ or "").strip().splitlines()[0]
        return fn

    return deco


def register_composite(suffix: str, factory: Callable[[str], Callable[..., SolveResult]]) -> None:
    """Names ``X<suffix>`` resolve to ``factory(X)`` for any registered solver X."""
    _COMPOSITES[suffix] = factory


def _load_builtin() -> None:
    # Importing the modules registers their solvers; heavy ones import lazily inside.
    import edgeopt.solvers.baselines  # noqa: F401
    import edgeopt.solvers.heuristics  # noqa: F401
    import edgeopt.solvers.local_search  # noqa: F401

    try:
        import edgeopt.solvers.milp  # noqa: F401
    except ImportError:  # pragma: no cover - milp module not present yet
        pass
    try:
        import edgeopt.solvers.drl  # noqa: F401
    except ImportError:  # pragma: no cover
        pass


def solver_names() -> list[str]:
    """Names of every registered solver."""
    _load_builtin()
    return sorted(_REGISTRY)


def solver_descriptions() -> dict[str, str]:
    _load_builtin()
    return dict(sorted(_DESCRIPTIONS.items()))


def get_solver(name: str) -> Callable[..., SolveResult]:
    """The solver registered as ``name``; ``a+ls`` polishes solver ``a`` with local search."""
    _load_builtin()
    if name in _REGISTRY:
        return _REGISTRY[name]
    for suffix, factory in _COMPOSITES.items():
        base = name[: -len(suffix)]
        if name.endswith(suffix) and base in _REGISTRY:
            return factory(base)
    raise InputError(f"unknown solver {name!r} (known: {', '.join(sorted(_REGISTRY))})", field="solver")


def finish(
    problem: Problem,
    solver: str,
    assignment: np.ndarray | None,
    *,
    started: float,
    status: str | None = None,
    bound: float | None = None,
    settings: dict[str, Any] | None = None,
    stats: dict[str, Any] | None = None,
    reported_objective: float | None = None,
    message: str = "",
) -> SolveResult:
    """Referee a solver's assignment and package the result.

    The objective is always the evaluator's. If the solver reports its own
    objective it must agree to 1e-6 relative, else :class:`SolverError`.
    Status defaults to ``feasible`` for a feasible plan and ``error`` otherwise.
    """
    ev = None
    objective = None
    if assignment is not None:
        assignment = np.asarray(assignment, dtype=np.int64)
        ev = evaluate(problem, assignment)
        objective = ev.objective
        if reported_objective is not None and not objectives_agree(reported_objective, ev.objective):
            raise SolverError(
                f"{solver}: reported objective {reported_objective!r} but the evaluator finds {ev.objective!r}"
            )
        if status is None:
            status = "feasible" if ev.feasible else "error"
            if not ev.feasible:
                message = message or "; ".join(ev.violations[:3])
    elif status is None:
        status = "error"
    return SolveResult(
        solver=solver,
        status=status,
        assignment=assignment,
        objective=objective,
        bound=bound,
        wall_s=time.perf_counter() - started,
        settings=dict(settings or {}),
        stats=dict(stats or {}),
        message=message,
        evaluation=ev,
    )


def infeasible_result(problem: Problem, solver: str, *, started: float, settings: dict[str, Any]) -> SolveResult | None:
    """A proven-infeasible result if some item has no admissible column, else None."""
    empty = problem.empty_items
    if not empty:
        return None
    names = ", ".join(empty[:5]) + (f" (+{len(empty) - 5} more)" if len(empty) > 5 else "")
    return SolveResult(
        solver=solver,
        status="infeasible",
        assignment=None,
        objective=None,
        wall_s=time.perf_counter() - started,
        settings=dict(settings),
        message=f"no admissible column for item(s): {names}",
    )


def parse_options(items: list[str]) -> dict[str, dict[str, Any]]:
    """``KEY=VALUE`` (every solver) or ``SOLVER.KEY=VALUE`` (one solver) → ``{"*": {...}, SOLVER: {...}}``.

    Values are read as JSON when they parse (numbers, true/false, null), else kept as text.

    >>> parse_options(["milp.mip_gap=1e-4", "threads=1"])
    {'milp': {'mip_gap': 0.0001}, '*': {'threads': 1}}
    """
    out: dict[str, dict[str, Any]] = {}
    for it in items:
        key, eq, val = it.partition("=")
        if not eq or not key:
            raise InputError(f"expected KEY=VALUE or SOLVER.KEY=VALUE, got {it!r}", field="set")
        solver, dot, name = key.rpartition(".")
        if not dot:
            solver = "*"
        if not name:
            raise InputError(f"empty option name in {it!r}", field="set")
        try:
            value = json.loads(val)
        except json.JSONDecodeError:
            value = val
        out.setdefault(solver, {})[name.replace("-", "_")] = value
    return out
