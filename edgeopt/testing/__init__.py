"""Property-based testing toolkit for planners (needs hypothesis).

Strategies: :func:`scenarios`, :func:`scenario_dicts`, :func:`catalogs`,
:func:`core_problems`, :func:`assignments`.
"""

from edgeopt.testing.strategies import (
    assignments,
    catalogs,
    core_problems,
    scenario_dicts,
    scenarios,
)

__all__ = ["assignments", "catalogs", "core_problems", "scenario_dicts", "scenarios"]
