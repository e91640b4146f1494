"""Rounds files (``edgeopt-rounds/1``, docs/model.md §9): the topology and catalog once, then T
maintenance rounds of arrivals, departures and data-volume drift; strict load, lossless save.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from edgeopt.fields import Fields
from edgeopt.jsonio import dumps, read_json, write_text_atomic
from edgeopt.scenario.model import (
    MIN_WINDOW_S,
    REQUEST_KEYS,
    WEIGHT_KEYS,
    Request,
    Scenario,
    _requests,
    _topology,
)
from edgeopt.scenario.schema import validate_catalog

__all__ = [
    "ROUNDS_FORMAT",
    "DRIFT_KEYS",
    "Drift",
    "Round",
    "Rounds",
    "load_rounds",
    "rounds_from_dict",
    "rounds_to_dict",
    "rounds_bytes",
    "save_rounds",
]

ROUNDS_FORMAT = "edgeopt-rounds/1"
#: The request fields a round may change for a request it keeps (the data volume, §3's D_r).
DRIFT_KEYS = ("train_samples", "inference_rate_hz")
#: Largest horizon a file may hold (each round is a solve).
MAX_ROUNDS = 100_000


@dataclass(frozen=True)
class Drift:
    """New data volume of a kept request from this round on (None: unchanged)."""

    id: str
    train_samples: float | None = None
    inference_rate_hz: float | None = None


@dataclass(frozen=True)
class Round:
    """One maintenance round: departures, then drift, then arrivals; ``seed`` seeds its planner."""

    index: int
    seed: int
    arrive: tuple[Request, ...] = ()
    depart: tuple[str, ...] = ()
    drift: tuple[Drift, ...] = ()


@dataclass(eq=False)
class Rounds:
    """A rounds scenario: what every round shares, and the rounds in order."""

    name: str
    window_s: float
    #: the four weights of a scenario (docs/model.md §2)
    weights: dict[str, float]
    #: w_M, the weight of the migration term (docs/model.md §9)
    migration_weight: float
    #: at most this many voluntary migrations per round (None: no cap)
    max_migrations: int | None
    graph: nx.Graph
    catalog: dict[str, Any]
    rounds: list[Round]
    source: str = "<rounds>"
    extra: dict[str, Any] = field(default_factory=dict)
    edge_order: list[tuple[str, str]] | None = None

    @property
    def n_rounds(self) -> int:
        return len(self.rounds)

    def present(self) -> list[list[Request]]:
        """The requests present in each round, drift applied: the kept ones in the previous
        round's order, then the arrivals in file order."""
        out: list[list[Request]] = []
        now: dict[str, Request] = {}
        for rd in self.rounds:
            for rid in rd.depart:
                del now[rid]
            for d in rd.drift:
                changes = {k: getattr(d, k) for k in DRIFT_KEYS if getattr(d, k) is not None}
                now[d.id] = dataclasses.replace(now[d.id], **changes)
            for r in rd.arrive:
                now[r.id] = r
            out.append(list(now.values()))
        return out

    def scenarios(self) -> list[Scenario]:
        """One ``edgeopt-scenario/1`` scenario per round (its one-round problem, docs/model.md §2)."""
        return [
            Scenario(
                name=f"{self.name}#round{rd.index}",
                window_s=self.window_s,
                weights=dict(self.weights),
                graph=self.graph,
                requests=reqs,
                catalog=self.catalog,
                source=f"{self.source}#round{rd.index}",
                edge_order=self.edge_order,
            )
            for rd, reqs in zip(self.rounds, self.present())
        ]


# ---------------------------------------------------------------------- load
def load_rounds(path: str | os.PathLike[str]) -> Rounds:
    """Load and validate a rounds file; any problem raises ``InputError`` naming file and field."""
    return rounds_from_dict(read_json(path), source=str(path))


def rounds_from_dict(data: Any, *, source: str = "<rounds>") -> Rounds:
    """Validate parsed JSON (docs/model.md §9) and build :class:`Rounds`."""
    f = Fields(source)
    d = f.obj(data, "")
    fmt = f.get(d, "format", "")
    if fmt != ROUNDS_FORMAT:
        raise f.fail("format", f"unknown format {fmt!r}, expected {ROUNDS_FORMAT!r}")
    f.keys(
        d,
        "",
        ["format", "name", "window_s", "weights", "topology", "catalog", "rounds"],
        ["max_migrations", "meta"],
    )
    name = f.string(d["name"], "name")
    f.number(d["window_s"], "window_s", min=MIN_WINDOW_S)
    weights = f.obj(d["weights"], "weights")
    f.keys(weights, "weights", [*WEIGHT_KEYS, "migration"])
    for k in (*WEIGHT_KEYS, "migration"):
        f.number(weights[k], f"weights.{k}", min=0.0)
    cap = d.get("max_migrations")
    if cap is not None:
        cap = f.integer(cap, "max_migrations", min=0)
    catalog = validate_catalog(d["catalog"], source=source, field="catalog")
    graph, edge_order = _topology(f, d["topology"])
    rounds = _rounds(f, d["rounds"], graph, catalog)
    return Rounds(
        name=name,
        window_s=d["window_s"],
        weights={k: weights[k] for k in WEIGHT_KEYS},
        migration_weight=weights["migration"],
        max_migrations=cap,
        graph=graph,
        catalog=catalog,
        rounds=rounds,
        source=source,
        extra={"meta": f.obj(d["meta"], "meta")} if "meta" in d else {},
        edge_order=edge_order,
    )


def _rounds(f: Fields, data: Any, graph: nx.Graph, catalog: dict[str, Any]) -> list[Round]:
    items = f.arr(data, "rounds")
    if not items:
        raise f.fail("rounds", "must not be empty")
    if len(items) > MAX_ROUNDS:
        raise f.fail("rounds", f"{len(items)} rounds, at most {MAX_ROUNDS}")
    present: set[str] = set()
    seen: set[str] = set()
    out: list[Round] = []
    for k, raw in enumerate(items):
        fld = f"rounds[{k}]"
        rd = f.obj(raw, fld)
        f.keys(rd, fld, ["round", "seed"], ["arrive", "depart", "drift"])
        index = f.integer(rd["round"], f"{fld}.round")
        if index != k + 1:
            raise f.fail(f"{fld}.round", f"round {index} out of order (expected {k + 1})")
        seed = f.integer(rd["seed"], f"{fld}.seed", min=0, limit=2**32 - 1)
        depart: list[str] = []
        for n, rid in enumerate(f.arr(rd.get("depart", []), f"{fld}.depart")):
            rid = f.string(rid, f"{fld}.depart[{n}]")
            if rid not in present:
                raise f.fail(f"{fld}.depart[{n}]", f"unknown request {rid!r} (not present)")
            present.discard(rid)
            depart.append(rid)
        drift: list[Drift] = []
        for n, raw_d in enumerate(f.arr(rd.get("drift", []), f"{fld}.drift")):
            dfl = f"{fld}.drift[{n}]"
            dd = f.obj(raw_d, dfl)
            f.keys(dd, dfl, ["id"], DRIFT_KEYS)
            rid = f.string(dd["id"], f"{dfl}.id")
            if rid not in present:
                raise f.fail(f"{dfl}.id", f"unknown request {rid!r} (not present)")
            if len(dd) == 1:
                raise f.fail(dfl, f"changes nothing (give {' or '.join(DRIFT_KEYS)})")
            vals = {
                key: f.number(dd[key], f"{dfl}.{key}", min=0.0) for key in DRIFT_KEYS if key in dd
            }
            drift.append(Drift(rid, **{key: dd[key] for key in vals}))
        if len({x.id for x in drift}) != len(drift):
            raise f.fail(f"{fld}.drift", "a request drifts twice in one round")
        arrive = _requests(
            f, rd.get("arrive", []), graph, catalog, field=f"{fld}.arrive", allow_empty=True
        )
        for n, r in enumerate(arrive):
            if r.id in seen:
                raise f.fail(f"{fld}.arrive[{n}].id", f"request id {r.id!r} was used before")
            seen.add(r.id)
            present.add(r.id)
        if not present:
            raise f.fail(fld, "no request is present in this round")
        out.append(Round(index, seed, tuple(arrive), tuple(depart), tuple(drift)))
    return out


# ---------------------------------------------------------------------- save
def rounds_to_dict(r: Rounds) -> dict[str, Any]:
    """The file form of ``r``; ``rounds_from_dict(rounds_to_dict(r))`` equals ``r``."""
    nodes = [{"id": n, **a} for n, a in r.graph.nodes(data=True)]
    edges_in = r.edge_order if r.edge_order is not None else list(r.graph.edges())
    edges = [{"source": u, "target": v, **r.graph.edges[u, v]} for u, v in edges_in]
    out: dict[str, Any] = {
        "format": ROUNDS_FORMAT,
        "name": r.name,
        "window_s": r.window_s,
        "weights": {**r.weights, "migration": r.migration_weight},
        "max_migrations": r.max_migrations,
        "topology": {
            "directed": False,
            "multigraph": False,
            "graph": dict(r.graph.graph),
            "nodes": nodes,
            "edges": edges,
        },
        "catalog": r.catalog,
        "rounds": [
            {
                "round": rd.index,
                "seed": rd.seed,
                "arrive": [{k: getattr(q, k) for k in REQUEST_KEYS} for q in rd.arrive],
                "depart": list(rd.depart),
                "drift": [
                    {
                        "id": d.id,
                        **{k: getattr(d, k) for k in DRIFT_KEYS if getattr(d, k) is not None},
                    }
                    for d in rd.drift
                ],
            }
            for rd in r.rounds
        ],
    }
    if r.max_migrations is None:
        del out["max_migrations"]
    out.update(r.extra)
    return out


def rounds_bytes(r: Rounds) -> bytes:
    """The exact bytes :func:`save_rounds` writes."""
    return dumps(rounds_to_dict(r)).encode("utf-8")


def save_rounds(r: Rounds, path: str | os.PathLike[str]) -> Path:
    """Write ``r`` atomically (temp file + rename)."""
    return write_text_atomic(path, rounds_bytes(r))
