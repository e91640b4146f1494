"""The simulation loop (docs/model.md §9): compile each round once, price the carried state in,
let a policy plan, referee the plan, carry its deployments to the next round.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from edgeopt.core.compile import compile_scenario
from edgeopt.core.evaluate import evaluate
from edgeopt.core.problem import Problem
from edgeopt.core.size import DEFAULT_MAX_COLUMNS, check_size
from edgeopt.errors import SolverError
from edgeopt.rounds.carry import RoundProblem, State, host_hops, next_state, round_problem
from edgeopt.rounds.policies import plan_round
from edgeopt.rounds.scenario import Rounds

__all__ = ["Compiled", "compile_rounds", "RoundRecord", "Simulation", "simulate", "replay"]


@dataclass(eq=False)
class Compiled:
    """Each round's one-round problem (docs/model.md §5) and what carrying state needs."""

    rounds: Rounds
    bases: list[Problem]
    compile_s: list[float]
    hops: np.ndarray
    #: family → configuration id → model_mb
    model_mb: dict[str, dict[str, float]]
    #: request id → family
    families: dict[str, str]

    @property
    def n_rounds(self) -> int:
        return len(self.bases)

    def round_problem(self, t: int, state: State) -> RoundProblem:
        """Round ``t`` (0-based) with ``state`` carried in."""
        return round_problem(
            self.bases[t],
            state,
            weight=self.rounds.migration_weight,
            cap=self.rounds.max_migrations,
            hops=self.hops,
        )


def compile_rounds(
    rounds: Rounds, *, max_columns: int | None = DEFAULT_MAX_COLUMNS, progress: bool = False
) -> Compiled:
    """Compile every round (each refused past ``max_columns`` estimated columns, like ``solve``)."""
    from tqdm.auto import tqdm

    scenarios = rounds.scenarios()
    bases, times = [], []
    for s in tqdm(scenarios, desc="compile", file=sys.stderr, disable=not progress, leave=False):
        check_size(s, max_columns)
        t0 = time.perf_counter()
        bases.append(compile_scenario(s))
        times.append(time.perf_counter() - t0)
    model_mb = {
        fam: {c["id"]: float(c["model_mb"]) for c in v["configs"]}
        for fam, v in rounds.catalog["families"].items()
    }
    families = {r.id: r.family for reqs in rounds.present() for r in reqs}
    hops = host_hops(scenarios[0], bases[0].bin_ids)
    return Compiled(rounds, bases, times, hops, model_mb, families)


@dataclass
class RoundRecord:
    """What one round of one policy cost (docs/model.md §9.6)."""

    round: int
    seed: int
    status: str
    objective: float | None
    terms: dict[str, float]
    migrations: int
    migration_mb: float
    migration_gb_links: float
    #: training and inference data over the links (Σ of link loads, MB)
    data_mb_links: float
    items: int
    kept: int
    arrived: int
    departed: int
    columns: int
    max_load_share: float | None
    compile_s: float
    carry_s: float
    plan_s: float
    #: CPU seconds of this process while planning (wall time inflates on a shared machine)
    plan_cpu_s: float = 0.0
    message: str = ""


@dataclass
class Simulation:
    """A policy's run over every round: its records and the plans (request → (config, host))."""

    policy: str
    settings: dict[str, Any]
    records: list[RoundRecord] = field(default_factory=list)
    plans: list[dict[str, list[str]]] = field(default_factory=list)
    assignments: list[np.ndarray] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.records) and all(r.objective is not None for r in self.records)

    @property
    def total_objective(self) -> float | None:
        return (
            float(sum(r.objective for r in self.records if r.objective is not None))
            if self.complete
            else None
        )

    def totals(self) -> dict[str, Any]:
        recs = self.records
        return {
            "rounds": len(recs),
            "complete": self.complete,
            "objective": self.total_objective,
            "migrations": sum(r.migrations for r in recs),
            "migration_mb": sum(r.migration_mb for r in recs),
            "migration_gb_links": sum(r.migration_gb_links for r in recs),
            "plan_s": sum(r.plan_s for r in recs),
            "max_plan_s": max((r.plan_s for r in recs), default=0.0),
            "plan_cpu_s": sum(r.plan_cpu_s for r in recs),
            "max_plan_cpu_s": max((r.plan_cpu_s for r in recs), default=0.0),
            "compile_s": sum(r.compile_s for r in recs),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "settings": self.settings,
            "totals": self.totals(),
            "rounds": [asdict(r) for r in self.records],
        }


def simulate(
    compiled: Compiled,
    policy: str,
    *,
    solver: str = "greedy+ls",
    time_limit_s: float | None = None,
    moves: int | None = None,
    progress: bool = False,
) -> Simulation:
    """Run ``policy`` over every round. A round whose plan fails (no feasible plan in the limits)
    ends the run there: later rounds would need its deployments."""
    from tqdm.auto import tqdm

    sim = Simulation(
        policy,
        {"policy": policy, "solver": solver, "time_limit_s": time_limit_s, "moves": moves},
    )
    state: State = {}
    rounds = compiled.rounds.rounds
    for t in tqdm(range(compiled.n_rounds), desc=policy, file=sys.stderr, disable=not progress):
        t0 = time.perf_counter()
        rp = compiled.round_problem(t, state)
        carry_s = time.perf_counter() - t0
        cpu0 = time.process_time()
        res = plan_round(
            policy, rp, seed=rounds[t].seed, time_limit_s=time_limit_s, solver=solver, moves=moves
        )
        cpu = time.process_time() - cpu0
        rec = _record(compiled, t, rp, res.assignment if res.has_plan else None, state)
        rec.status, rec.plan_s, rec.carry_s, rec.message = (
            res.status,
            res.wall_s,
            carry_s,
            res.message,
        )
        rec.plan_cpu_s = cpu
        sim.records.append(rec)
        if not res.has_plan or res.assignment is None:
            break
        sim.assignments.append(res.assignment)
        state = next_state(rp.problem, res.assignment, compiled.model_mb, compiled.families)
        sim.plans.append({k: [d.config, d.host] for k, d in state.items()})
    return sim


def _record(
    compiled: Compiled, t: int, rp: RoundProblem, plan: np.ndarray | None, state: State
) -> RoundRecord:
    rd = compiled.rounds.rounds[t]
    p = rp.problem
    rec = RoundRecord(
        round=rd.index,
        seed=rd.seed,
        status="error",
        objective=None,
        terms={},
        migrations=0,
        migration_mb=0.0,
        migration_gb_links=0.0,
        data_mb_links=0.0,
        items=p.n_items,
        kept=int(rp.kept.sum()),
        arrived=len(rd.arrive),
        departed=len(rd.depart),
        columns=p.n_columns,
        max_load_share=None,
        compile_s=compiled.compile_s[t],
        carry_s=0.0,
        plan_s=0.0,
    )
    if plan is None:
        return rec
    ev = evaluate(p, plan)  # the referee, on the round's own problem
    if not ev.feasible:
        raise SolverError(f"round {rd.index}: a plan failed the referee: {ev.violations[:2]}")
    links = np.array([r.startswith("link:") for r in p.resource_ids])
    rec.objective = ev.objective
    rec.terms = dict(ev.terms)
    rec.data_mb_links = float(ev.loads[links].sum())
    rec.max_load_share = ev.max_balanced
    mig = rp.summary(plan)
    rec.migrations, rec.migration_mb, rec.migration_gb_links = (
        mig["migrations"],
        mig["migration_mb"],
        mig["migration_gb_links"],
    )
    return rec


def replay(compiled: Compiled, plans: list[dict[str, list[str]]]) -> list[float]:
    """Round costs Z_t of a sequence of plans (request → [config, host] per round), each priced
    with the state the previous one left and refereed: how a plan made elsewhere (the
    whole-horizon MILP) is checked against the simulation's own problems."""
    state: State = {}
    out = []
    for t, plan in enumerate(plans):
        rp = compiled.round_problem(t, state)
        p = rp.problem
        a = np.full(p.n_items, -1, dtype=np.int64)
        opt = {o: k for k, o in enumerate(p.option_ids)}
        bins = {b: k for k, b in enumerate(p.bin_ids)}
        for i, rid in enumerate(p.item_ids):
            cfg, host = plan[rid]
            lo, hi = int(p.item_ptr[i]), int(p.item_ptr[i + 1])
            hit = np.flatnonzero(
                (p.col_option[lo:hi] == opt[cfg]) & (p.col_bin[lo:hi] == bins[host])
            )
            if hit.size != 1:
                raise SolverError(f"round {t + 1}: {rid} has no column {cfg}@{host}")
            a[i] = lo + int(hit[0])
        ev = evaluate(p, a)
        if not ev.feasible:
            raise SolverError(f"round {t + 1}: the plan fails the referee: {ev.violations[:2]}")
        out.append(ev.objective)
        state = next_state(p, a, compiled.model_mb, compiled.families)
    return out
