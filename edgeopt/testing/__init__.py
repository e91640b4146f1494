"""Property-based testing toolkit for planners (needs hypothesis).

Strategies build small, readable inputs; invariants check a planner's output
with the evaluator (the referee); :func:`proven_optimum` gives the MILP's
proven Z* of a small problem to measure gaps against. See docs/testing.md.

Strategies: :func:`scenarios`, :func:`scenario_dicts`, :func:`catalogs`,
:func:`core_problems`, :func:`compiled`, :func:`assignments`.
Invariants: :func:`assert_feasible`, :func:`assert_objective_consistent`,
:func:`assert_within_gap`, :func:`proven_optimum`.
Fuzzing: :func:`malformed_json`, :func:`malformed_text`.
"""

from edgeopt.testing.fuzz import malformed_json, malformed_text
from edgeopt.testing.invariants import (
    NotProvenError,
    assert_feasible,
    assert_objective_consistent,
    assert_within_gap,
    problem_digest,
    proven_optimum,
)
from edgeopt.testing.strategies import (
    assignments,
    catalogs,
    compiled,
    core_problems,
    scenario_dicts,
    scenarios,
)

__all__ = [
    "NotProvenError",
    "assert_feasible",
    "assert_objective_consistent",
    "assert_within_gap",
    "assignments",
    "catalogs",
    "compiled",
    "core_problems",
    "malformed_json",
    "malformed_text",
    "problem_digest",
    "proven_optimum",
    "scenario_dicts",
    "scenarios",
]
