"""Topology helpers: node kinds, undirected edge keys, and the fixed routing of docs/model.md §2.

The path between two nodes is the shortest by ``latency_ms``; ties go to the
fewest hops, then to the lexicographically smallest sequence of node ids, so
every tool computes the same path.
"""

from __future__ import annotations

import heapq

import networkx as nx

__all__ = ["NODE_KINDS", "route_from", "edge_key"]

NODE_KINDS = ("cloud", "edge", "gnb", "controller")

#: Latencies equal to this many decimals count as a tie (float sums differ in the last bit).
_LAT_DECIMALS = 9


def edge_key(u: str, v: str) -> tuple[str, str]:
    """Canonical (sorted) key of the undirected edge u–v."""
    return (u, v) if u <= v else (v, u)


def route_from(graph: nx.Graph, source: str) -> dict[str, tuple[str, ...]]:
    """Paths from ``source`` to every reachable node under docs/model.md's tie-breaks.

    Dijkstra over the key (latency, hops, node-id sequence): the key only grows
    when a path is extended and extending two paths by the same node keeps their
    order, so the first settled path to a node is its best path.

    Examples
    --------
    >>> g = nx.Graph()
    >>> g.add_edge("a", "b", latency_ms=1.0); g.add_edge("b", "d", latency_ms=1.0)
    >>> g.add_edge("a", "c", latency_ms=1.0); g.add_edge("c", "d", latency_ms=1.0)
    >>> route_from(g, "a")["d"]
    ('a', 'b', 'd')
    """
    best: dict[str, tuple[str, ...]] = {}
    heap: list[tuple[float, int, tuple[str, ...], float]] = [(0.0, 0, (source,), 0.0)]
    while heap:
        _, hops, path, dist = heapq.heappop(heap)
        node = path[-1]
        if node in best:
            continue
        best[node] = path
        for nbr, attrs in graph[node].items():
            if nbr in best:
                continue
            d = dist + float(attrs["latency_ms"])
            heapq.heappush(heap, (round(d, _LAT_DECIMALS), hops + 1, path + (nbr,), d))
    return best
