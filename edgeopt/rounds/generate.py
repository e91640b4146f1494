"""Seeded rounds generator (docs/model.md §9.1): round 1 is exactly the one-round scenario
``edgeopt generate`` writes with the same seed and knobs; later rounds churn and drift.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from edgeopt.errors import InputError
from edgeopt.rounds.scenario import Drift, Round, Rounds, rounds_from_dict, rounds_to_dict
from edgeopt.scenario.generate import GeneratorConfig, generate

__all__ = ["generate_rounds", "DEFAULT_MIGRATION_WEIGHT"]

#: w_M of generated files: one GB·link of model traffic costs as much as a request's whole
#: accuracy given up (w_A·1.0 = 2) would — moving a 3 MB model over 2 links costs 0.006
DEFAULT_MIGRATION_WEIGHT = 1.0


def generate_rounds(
    cfg: GeneratorConfig,
    catalog: dict[str, Any],
    devices: dict[str, dict[str, Any]],
    *,
    rounds: int,
    churn: float,
    drift: float = 0.1,
    migration_weight: float = DEFAULT_MIGRATION_WEIGHT,
    max_migrations: int | None = None,
    catalog_source: str = "<catalog>",
) -> Rounds:
    """T rounds over the topology and catalog of ``generate(cfg)``.

    Round 1's requests are ``generate(cfg)``'s. In each later round every present request leaves
    with probability ``churn``; as many arrive as left (the population stays at ``cfg.requests``),
    drawn like the first round's (the generator's next draws for the same seed, their training
    volume scaled by round 1's load-factor scaling); every kept request's train_samples and
    inference rate are multiplied by exp(N(0, ``drift``²)). Churn and drift come from
    ``default_rng([cfg.seed, 1])``, each round's planner seed from the same stream.
    """
    if not (1 <= rounds <= 100_000):
        raise InputError("must be an integer from 1 to 100000", field="rounds")
    if not (0.0 <= churn <= 1.0):
        raise InputError("must be a number from 0 to 1", field="churn")
    if not (0.0 <= drift <= 5.0 and math.isfinite(drift)):
        raise InputError("must be a number from 0 to 5", field="drift")
    if not (migration_weight >= 0.0 and math.isfinite(migration_weight)):
        raise InputError("must be a finite number >= 0", field="migration-weight")
    base = generate(cfg, catalog, devices, catalog_source=catalog_source)
    rng = np.random.default_rng([cfg.seed, 1])
    n = cfg.requests
    # the churn schedule first: how many arrive in all
    present = [r.id for r in base.requests]
    schedule: list[tuple[list[str], int, list[tuple[str, float, float]]]] = []
    next_id = n
    for _ in range(rounds - 1):
        leave = rng.random(len(present)) < churn
        gone = [rid for rid, x in zip(present, leave) if x]
        kept = [rid for rid, x in zip(present, leave) if not x]
        factors = np.exp(rng.normal(0.0, drift, size=(len(kept), 2))) if drift else None
        moves = (
            [(rid, float(f[0]), float(f[1])) for rid, f in zip(kept, factors)]
            if factors is not None
            else []
        )
        schedule.append((gone, len(gone), moves))
        present = kept + [f"r{next_id + k}" for k in range(len(gone))]
        next_id += len(gone)
    seeds = rng.integers(0, 2**31 - 1, size=rounds).tolist()
    arrivals_total = next_id - n
    pool = []
    if arrivals_total:
        # the generator's next draws for this seed; it scaled them over n + A requests, so bring
        # them to round 1's scaling (the first n draws are round 1's requests, rescaled)
        drawn = generate(
            dataclasses.replace(cfg, requests=n + arrivals_total),
            catalog,
            devices,
            catalog_source=catalog_source,
        ).requests
        ratio = sum(r.train_samples for r in base.requests) / max(
            sum(r.train_samples for r in drawn[:n]), 1
        )
        pool = [
            dataclasses.replace(r, train_samples=max(1, int(round(r.train_samples * ratio))))
            for r in drawn[n:]
        ]
    current = {r.id: r for r in base.requests}
    out = [Round(1, int(seeds[0]), tuple(base.requests))]
    used = 0
    for t, (gone, count, moves) in enumerate(schedule, start=2):
        for rid in gone:
            del current[rid]
        drifts = []
        for rid, fn, fl in moves:
            r = current[rid]
            samples = max(1, int(round(r.train_samples * fn)))
            rate = float(round(r.inference_rate_hz * fl, 3))
            current[rid] = dataclasses.replace(r, train_samples=samples, inference_rate_hz=rate)
            drifts.append(Drift(rid, train_samples=samples, inference_rate_hz=rate))
        arrive = []
        for k in range(count):
            r = dataclasses.replace(pool[used + k], id=f"r{n + used + k}")
            arrive.append(r)
            current[r.id] = r
        used += count
        out.append(Round(t, int(seeds[t - 1]), tuple(arrive), tuple(gone), tuple(drifts)))
    meta = dict(base.extra.get("meta", {}))
    meta["rounds"] = {"rounds": rounds, "churn": churn, "drift": drift}
    result = Rounds(
        name=f"{base.name}-t{rounds}-p{churn:g}",
        window_s=base.window_s,
        weights=dict(base.weights),
        migration_weight=float(migration_weight),
        max_migrations=max_migrations,
        graph=base.graph,
        catalog=base.catalog,
        rounds=out,
        source="<generated>",
        extra={"meta": meta},
        edge_order=base.edge_order,
    )
    # never write a file the reader would refuse
    rounds_from_dict(rounds_to_dict(result), source="<generated>")
    return result
