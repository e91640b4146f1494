"""How big a scenario's core problem can get, known before compiling it.

Compiling allocates (requests × configurations × controllers) arrays; a scenario
past ``max_columns`` candidate columns is refused with the numbers instead of
running for minutes into many gigabytes.
"""

from __future__ import annotations

from collections import Counter

from edgeopt.errors import InputError
from edgeopt.scenario.model import Scenario

__all__ = [
    "DEFAULT_MAX_COLUMNS",
    "TYPICAL_HOPS",
    "estimate_columns",
    "longest_route_hops",
    "check_size",
    "check_generated_size",
]

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


#: Hops of the longest route the default column count stands for: compiling keeps every column's
#: route padded to the longest one, so past it a column weighs (2 + hops) / (2 + this).
TYPICAL_HOPS = 6


def longest_route_hops(scenario: Scenario) -> int:
    """The topology's diameter in hops by a double sweep (two breadth-first searches: exact on a
    tree, a lower bound otherwise), standing for the longest route compiling will pad to."""
    import networkx as nx

    g = scenario.graph
    if g.number_of_nodes() < 2:
        return 0
    start = next(iter(g.nodes))
    far, _ = max(nx.single_source_shortest_path_length(g, start).items(), key=lambda kv: kv[1])
    return int(max(nx.single_source_shortest_path_length(g, far).values()))


def check_size(scenario: Scenario, max_columns: int | None = DEFAULT_MAX_COLUMNS) -> int:
    """The estimate of :func:`estimate_columns`, weighted by the route length past
    :data:`TYPICAL_HOPS` (a long gNB chain multiplies every column's route entries);
    ``InputError`` when it exceeds ``max_columns`` (None: no limit)."""
    n = estimate_columns(scenario)
    if max_columns is not None and n > max_columns:
        n_ctrl = sum(1 for _, a in scenario.graph.nodes(data=True) if a.get("kind") == "controller")
        _refuse(n, len(scenario.requests), n_ctrl, max_columns, source=scenario.source)
    if max_columns is not None:
        hops = longest_route_hops(scenario)
        weighted = n * max(1.0, (2 + hops) / (2 + TYPICAL_HOPS))
        if weighted > max_columns:
            raise InputError(
                f"too large to compile: up to {n:,} candidate columns on routes of up to {hops} "
                f"hops weigh as {int(weighted):,} columns of {TYPICAL_HOPS} hops, more than "
                f"--max-columns {max_columns:,}; raise --max-columns if the memory is there",
                source=scenario.source,
            )
    return n


def check_generated_size(
    controllers: int,
    requests: int,
    catalog: dict,
    max_columns: int | None = DEFAULT_MAX_COLUMNS,
    *,
    source: str | None = None,
) -> int:
    """:func:`check_size` for a scenario not generated yet (nothing allocated): every request
    counted with the catalog's largest family, plus the cloud."""
    most = max((len(f["configs"]) for f in catalog["families"].values()), default=0)
    n = requests * (most * controllers + 1)
    if max_columns is not None and n > max_columns:
        _refuse(n, requests, controllers, max_columns, source=source)
    return n


def _refuse(
    n: int, requests: int, controllers: int, max_columns: int, *, source: str | None
) -> None:
    raise InputError(
        f"too large to compile: up to {n:,} candidate columns ({requests:,} requests × "
        f"configurations × {controllers:,} controllers) exceed --max-columns {max_columns:,}; "
        "raise --max-columns if the memory is there",
        source=source,
    )
