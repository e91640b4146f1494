"""How big a scenario's core problem can get, known before compiling it.

Compiling allocates (requests × configurations × controllers) arrays; a scenario
past ``max_columns`` candidate columns is refused with the numbers instead of
running for minutes into many gigabytes.
"""

from __future__ import annotations

from collections import Counter

from edgeopt.errors import InputError
from edgeopt.scenario.model import Scenario

__all__ = ["DEFAULT_MAX_COLUMNS", "estimate_columns", "check_size"]

#: Largest candidate-column count compiled by default (``--max-columns``). Compiling costs about
#: 350 bytes per admissible column (measured on c100-r1000), and admissible columns are a
#: fraction of the candidates, so the default stays well inside a 24 GB machine.
DEFAULT_MAX_COLUMNS = 30_000_000


def estimate_columns(scenario: Scenario) -> int:
    """Upper bound on the compiled problem's columns: Σ over requests of
    (configurations of its family × controllers + 1 for the cloud, when there is one).

    Costs one pass over the requests; nothing is allocated.
    """
    n_ctrl = sum(1 for _, a in scenario.graph.nodes(data=True) if a.get("kind") == "controller")
    cloud = 1 if scenario.cloud is not None else 0
    per_family = Counter(r.family for r in scenario.requests)
    return sum(n * (len(scenario.configs(fam)) * n_ctrl + cloud) for fam, n in per_family.items())


def check_size(scenario: Scenario, max_columns: int | None = DEFAULT_MAX_COLUMNS) -> int:
    """The estimate of :func:`estimate_columns`; ``InputError`` when it exceeds ``max_columns``
    (None: no limit)."""
    n = estimate_columns(scenario)
    if max_columns is not None and n > max_columns:
        n_ctrl = sum(1 for _, a in scenario.graph.nodes(data=True) if a.get("kind") == "controller")
        raise InputError(
            f"too large to compile: up to {n:,} candidate columns ({len(scenario.requests):,} requests × "
            f"configurations × {n_ctrl:,} controllers) exceed --max-columns {max_columns:,}; "
            "raise --max-columns if the memory is there",
            source=scenario.source,
        )
    return n
