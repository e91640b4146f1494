"""Scenario files (``edgeopt-scenario/1``, docs/model.md §2 and §8): strict load,
validation with errors naming file and field, and a lossless save.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from edgeopt.fields import Fields
from edgeopt.jsonio import dumps, read_json, write_text_atomic
from edgeopt.scenario.schema import validate_catalog
from edgeopt.scenario.topology import NODE_KINDS, edge_key

__all__ = [
    "SCENARIO_FORMAT",
    "Controller",
    "Request",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "scenario_to_dict",
    "save_scenario",
    "scenario_bytes",
]

SCENARIO_FORMAT = "edgeopt-scenario/1"
WEIGHT_KEYS = ("balance", "accuracy", "network", "cloud")
#: Node id only the cloud node may have: the compiled problem's cloud bin is called so
#: (``edgeopt.core.problem.CLOUD``), and a controller of that name would share its bin.
CLOUD = "cloud"
#: Smallest window, bandwidth and controller capacities a scenario may have: 1 ms, 1 kbit/s,
#: 1 MFLOP/s, 1 kB. Below them (1e-300) the model's coefficients overflow and HiGHS rejects it.
MIN_WINDOW_S = MIN_BANDWIDTH_MBPS = MIN_GFLOPS = MIN_MEMORY_MB = 1e-3
CONTROLLER_KEYS = ("profile", "gflops", "memory_mb", "vm_overhead_mb", "max_util")
REQUEST_KEYS = (
    "id",
    "family",
    "origin",
    "inference_rate_hz",
    "train_samples",
    "sample_kb",
    "min_accuracy",
    "max_latency_ms",
    "weight",
)


@dataclass(frozen=True)
class Controller:
    """An IoT controller (a ``controller`` node of the topology)."""

    id: str
    profile: str
    gflops: float
    memory_mb: float
    vm_overhead_mb: float
    max_util: float


@dataclass(frozen=True)
class Request:
    """One service's maintenance request for this round."""

    id: str
    family: str
    origin: str
    inference_rate_hz: float
    train_samples: float
    sample_kb: float
    min_accuracy: float
    max_latency_ms: float
    weight: float


@dataclass(eq=False)
class Scenario:
    """One maintenance round: topology, controllers, requests, catalog, weights, window."""

    name: str
    window_s: float
    weights: dict[str, float]
    graph: nx.Graph
    requests: list[Request]
    catalog: dict[str, Any]
    source: str = "<scenario>"
    extra: dict[str, Any] = field(default_factory=dict)
    #: edges as (source, target) in file order (networkx iterates by adjacency instead)
    edge_order: list[tuple[str, str]] | None = None

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Topology edges in file order, oriented as written."""
        return list(self.edge_order) if self.edge_order is not None else list(self.graph.edges())

    @property
    def controllers(self) -> list[Controller]:
        """Controllers in topology node order."""
        out = []
        for n, a in self.graph.nodes(data=True):
            if a.get("kind") == "controller":
                out.append(Controller(n, *(a[k] for k in CONTROLLER_KEYS)))
        return out

    @property
    def cloud(self) -> str | None:
        """Id of the cloud node, or None when the scenario has no cloud option."""
        for n, a in self.graph.nodes(data=True):
            if a.get("kind") == "cloud":
                return n
        return None

    def configs(self, family: str) -> list[dict[str, Any]]:
        return self.catalog["families"][family]["configs"]

    @property
    def host_gflops(self) -> float:
        return float(self.catalog["host_gflops"])


# ---------------------------------------------------------------------- load
def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario file; any problem raises ``InputError`` naming file and field."""
    return scenario_from_dict(read_json(path), source=str(path))


def scenario_from_dict(data: Any, *, source: str = "<scenario>") -> Scenario:
    """Validate parsed JSON (docs/model.md §8) and build a :class:`Scenario`."""
    f = Fields(source)
    d = f.obj(data, "")
    fmt = f.get(d, "format", "")
    if fmt != SCENARIO_FORMAT:
        raise f.fail("format", f"unknown format {fmt!r}, expected {SCENARIO_FORMAT!r}")
    f.keys(
        d,
        "",
        ["format", "name", "window_s", "weights", "topology", "catalog", "requests"],
        ["meta"],
    )
    name = f.string(d["name"], "name")
    window = d["window_s"]
    f.number(window, "window_s", min=MIN_WINDOW_S)
    weights = f.obj(d["weights"], "weights")
    f.keys(weights, "weights", WEIGHT_KEYS)
    for k in WEIGHT_KEYS:
        f.number(weights[k], f"weights.{k}", min=0.0)
    catalog = validate_catalog(d["catalog"], source=source, field="catalog")
    graph, edge_order = _topology(f, d["topology"])
    requests = _requests(f, d["requests"], graph, catalog)
    extra = {"meta": f.obj(d["meta"], "meta")} if "meta" in d else {}
    return Scenario(
        name=name,
        window_s=window,
        weights=dict(weights),
        graph=graph,
        requests=requests,
        catalog=catalog,
        source=source,
        extra=extra,
        edge_order=edge_order,
    )


def _topology(f: Fields, data: Any) -> tuple[nx.Graph, list[tuple[str, str]]]:
    t = f.obj(data, "topology")
    f.keys(t, "topology", ["nodes", "edges"], ["directed", "multigraph", "graph"])
    if t.get("directed", False) is not False:
        raise f.fail("topology.directed", "must be false (the topology is undirected)")
    if t.get("multigraph", False) is not False:
        raise f.fail("topology.multigraph", "must be false")
    # Graph attributes are data, never constructor arguments (``incoming_graph_data`` would build a graph).
    g = nx.Graph()
    g.graph.update(f.obj(t.get("graph", {}), "topology.graph"))
    clouds = 0
    for k, node in enumerate(f.arr(t["nodes"], "topology.nodes")):
        fld = f"topology.nodes[{k}]"
        node = f.obj(node, fld)
        nid = f.string(f.get(node, "id", fld), f"{fld}.id")
        kind = f.get(node, "kind", fld)
        if kind not in NODE_KINDS:
            raise f.fail(
                f"{fld}.kind", f"unknown kind {kind!r} (expected one of {', '.join(NODE_KINDS)})"
            )
        if nid in g:
            raise f.fail(f"{fld}.id", f"duplicate node id {nid!r}")
        if nid == CLOUD and kind != "cloud":  # the compiled problem's cloud bin has this id
            raise f.fail(
                f"{fld}.id", f"{CLOUD!r} is reserved for the cloud node (this is a {kind})"
            )
        if kind == "controller":
            f.keys(node, fld, ["id", "kind", *CONTROLLER_KEYS])
            f.string(node["profile"], f"{fld}.profile")
            f.number(node["gflops"], f"{fld}.gflops", min=MIN_GFLOPS)
            f.number(node["memory_mb"], f"{fld}.memory_mb", min=MIN_MEMORY_MB)
            f.number(node["vm_overhead_mb"], f"{fld}.vm_overhead_mb", min=0.0)
            f.number(node["max_util"], f"{fld}.max_util", min=0.0, max=1.0, min_exclusive=True)
        else:
            f.keys(node, fld, ["id", "kind"])
            clouds += kind == "cloud"
            if clouds > 1:
                raise f.fail(f"{fld}.kind", "more than one cloud node")
        g.add_node(nid, **{k: v for k, v in node.items() if k != "id"})
    if g.number_of_nodes() == 0:
        raise f.fail("topology.nodes", "must not be empty")
    if not any(a["kind"] == "controller" for _, a in g.nodes(data=True)):
        raise f.fail("topology.nodes", "no controller node")
    seen: set[tuple[str, str]] = set()
    order: list[tuple[str, str]] = []
    for k, e in enumerate(f.arr(t["edges"], "topology.edges")):
        fld = f"topology.edges[{k}]"
        e = f.obj(e, fld)
        f.keys(e, fld, ["source", "target", "bandwidth_mbps", "latency_ms"], ["max_util"])
        u = f.string(e["source"], f"{fld}.source")
        v = f.string(e["target"], f"{fld}.target")
        for end, fn in ((u, "source"), (v, "target")):
            if end not in g:
                raise f.fail(f"{fld}.{fn}", f"unknown node {end!r}")
        if u == v:
            raise f.fail(fld, f"self-loop on {u!r}")
        if edge_key(u, v) in seen:
            raise f.fail(fld, f"duplicate edge {u!r}–{v!r}")
        seen.add(edge_key(u, v))
        f.number(e["bandwidth_mbps"], f"{fld}.bandwidth_mbps", min=MIN_BANDWIDTH_MBPS)
        f.number(e["latency_ms"], f"{fld}.latency_ms", min=0.0)
        if "max_util" in e:
            f.number(e["max_util"], f"{fld}.max_util", min=0.0, max=1.0, min_exclusive=True)
        g.add_edge(u, v, **{k: val for k, val in e.items() if k not in ("source", "target")})
        order.append((u, v))
    if not nx.is_connected(g):
        parts = sorted(nx.connected_components(g), key=lambda c: -len(c))
        stray = sorted(parts[1])[0]
        raise f.fail(
            "topology", f"disconnected: node {stray!r} cannot reach {sorted(parts[0])[0]!r}"
        )
    return g, order


def _requests(
    f: Fields,
    data: Any,
    graph: nx.Graph,
    catalog: dict[str, Any],
    *,
    field: str = "requests",
    allow_empty: bool = False,
) -> list[Request]:
    """Validated requests of array ``field`` (a rounds file's arrivals name their own field)."""
    out: list[Request] = []
    ids: set[str] = set()
    for k, r in enumerate(f.arr(data, field)):
        fld = f"{field}[{k}]"
        r = f.obj(r, fld)
        f.keys(r, fld, REQUEST_KEYS)
        rid = f.string(r["id"], f"{fld}.id")
        if rid in ids:
            raise f.fail(f"{fld}.id", f"duplicate request id {rid!r}")
        ids.add(rid)
        fam = f.string(r["family"], f"{fld}.family")
        if fam not in catalog["families"]:
            raise f.fail(
                f"{fld}.family",
                f"unknown family {fam!r} (catalog has {', '.join(catalog['families'])})",
            )
        origin = f.string(r["origin"], f"{fld}.origin")
        if origin not in graph or graph.nodes[origin].get("kind") != "controller":
            raise f.fail(f"{fld}.origin", f"unknown controller {origin!r}")
        f.number(r["inference_rate_hz"], f"{fld}.inference_rate_hz", min=0.0)
        f.number(r["train_samples"], f"{fld}.train_samples", min=0.0)
        f.number(r["sample_kb"], f"{fld}.sample_kb", min=0.0)
        f.number(r["min_accuracy"], f"{fld}.min_accuracy", min=0.0, max=1.0)
        f.number(r["max_latency_ms"], f"{fld}.max_latency_ms", min=0.0, min_exclusive=True)
        f.number(r["weight"], f"{fld}.weight", min=0.0, min_exclusive=True)
        out.append(Request(**{key: r[key] for key in REQUEST_KEYS}))
    if not out and not allow_empty:
        raise f.fail(field, "must not be empty")
    return out


# ---------------------------------------------------------------------- save
def scenario_to_dict(s: Scenario) -> dict[str, Any]:
    """The file form of ``s``; ``scenario_from_dict(scenario_to_dict(s))`` equals ``s``."""
    nodes = [{"id": n, **a} for n, a in s.graph.nodes(data=True)]
    edges = [{"source": u, "target": v, **s.graph.edges[u, v]} for u, v in s.edges]
    out: dict[str, Any] = {
        "format": SCENARIO_FORMAT,
        "name": s.name,
        "window_s": s.window_s,
        "weights": dict(s.weights),
        "topology": {
            "directed": False,
            "multigraph": False,
            "graph": dict(s.graph.graph),
            "nodes": nodes,
            "edges": edges,
        },
        "catalog": s.catalog,
        "requests": [{k: getattr(r, k) for k in REQUEST_KEYS} for r in s.requests],
    }
    out.update(s.extra)
    return out


def scenario_bytes(s: Scenario) -> bytes:
    """The exact bytes :func:`save_scenario` writes."""
    return dumps(scenario_to_dict(s)).encode("utf-8")


def save_scenario(s: Scenario, path: str | os.PathLike[str]) -> Path:
    """Write ``s`` atomically."""
    return write_text_atomic(path, scenario_bytes(s))
