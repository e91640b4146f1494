"""``edgeopt simulate`` as a library call: load and check everything first, then simulate each
policy, compute the hindsight references, store every run and write the report.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeopt.core.size import DEFAULT_MAX_COLUMNS
from edgeopt.errors import InputError
from edgeopt.jsonio import loads, read_bytes
from edgeopt.paths import check_output
from edgeopt.rounds.hindsight import Reference, horizon_optimum, round_optima
from edgeopt.rounds.policies import POLICIES
from edgeopt.rounds.report import build_rounds_report, competitive
from edgeopt.rounds.scenario import rounds_from_dict
from edgeopt.rounds.simulate import Simulation, compile_rounds, simulate
from edgeopt.rounds.store import RoundsStore, read_runs

__all__ = ["SimulateConfig", "run_simulate", "policy_label"]


@dataclass
class SimulateConfig:
    """Everything ``edgeopt simulate`` takes (one field per option)."""

    file: str
    policies: list[str] = field(default_factory=lambda: ["incremental"])
    #: the solver of ``resolve``
    solver: str = "greedy+ls"
    #: per round, per policy (None: the policy's own stopping rule)
    time_limit_s: float | None = None
    #: ``incremental``'s voluntary migrations per round (None: only the file's cap)
    moves: int | None = None
    db: str | None = "results.sqlite"
    report: str | None = None
    #: per-round one-round optima (MILP), a lower bound for any horizon
    round_optimum: bool = False
    #: the whole-horizon MILP (small horizons)
    horizon: bool = False
    #: time limit of each reference MILP (per round for round_optimum)
    reference_time_limit_s: float = 300.0
    threads: int = 1
    max_columns: int | None = DEFAULT_MAX_COLUMNS
    progress: bool = True
    command: str = ""


def policy_label(policy: str, solver: str, moves: int | None = None) -> str:
    if policy == "resolve":
        return f"resolve[{solver}]"
    if policy == "incremental" and moves is not None:
        return f"incremental[moves={moves}]"
    return policy


def run_simulate(cfg: SimulateConfig, say: Callable[[str], None] | None = None) -> list[str]:
    """Run it all; returns the summary lines, each also passed to ``say`` as soon as it is known.
    Bad input raises ``InputError`` before anything is written."""
    for p in cfg.policies:
        if p not in POLICIES:
            raise InputError(f"unknown policy {p!r} (one of {', '.join(POLICIES)})", field="policy")
    if "resolve" in cfg.policies:
        from edgeopt.solvers.registry import check_solver_options

        check_solver_options(cfg.solver, {})
    if cfg.db is not None:
        check_output(cfg.db, option="--db", inputs=[cfg.file])
    if cfg.report is not None:
        check_output(cfg.report, option="--report", inputs=[cfg.file, cfg.db], folder=True)
    raw = read_bytes(cfg.file, expected="a rounds file")
    rounds = rounds_from_dict(loads(raw, source=str(cfg.file)), source=str(cfg.file))
    sha = hashlib.sha256(raw).hexdigest()
    compiled = compile_rounds(rounds, max_columns=cfg.max_columns, progress=cfg.progress)
    store = RoundsStore(cfg.db) if cfg.db is not None else None
    lines = _Lines(say)
    sims: list[Simulation] = []
    runs: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    try:
        for policy in cfg.policies:
            label = policy_label(policy, cfg.solver, cfg.moves)
            settings = {
                "policy": policy,
                "solver": cfg.solver if policy == "resolve" else None,
                "moves": cfg.moves if policy == "incremental" else None,
                "time_limit_s": cfg.time_limit_s,
            }
            if store is not None and store.has(sha, label, settings):
                lines.append(f"{label}: already stored in {cfg.db} (kept)")
                continue
            sim = simulate(
                compiled,
                policy,
                solver=cfg.solver,
                time_limit_s=cfg.time_limit_s,
                moves=cfg.moves,
                progress=cfg.progress,
            )
            sims.append(sim)
            run = _policy_run(sha, cfg, rounds.name, label, settings, sim)
            rows = [dict(vars(r)) for r in sim.records]
            runs.append((run, rows))
            if store is not None:
                store.add(run, rows)
            t = sim.totals()
            z = "no complete plan" if t["objective"] is None else f"total Z {t['objective']:.6f}"
            lines.append(
                f"{label}: {z}, {t['migrations']} migrations, {t['migration_mb']:.1f} MB moved, "
                f"plan {t['plan_s'] / max(t['rounds'], 1):.3f} s/round (max {t['max_plan_s']:.3f}; "
                f"CPU {t['plan_cpu_s'] / max(t['rounds'], 1):.3f} s/round, max "
                f"{t['max_plan_cpu_s']:.3f})"
            )
        refs: list[Reference] = []
        if cfg.round_optimum or cfg.horizon:
            ro = round_optima(
                compiled, time_limit_s=cfg.reference_time_limit_s, threads=cfg.threads
            )
            refs.append(ro)
        if cfg.horizon:
            refs.append(
                horizon_optimum(
                    compiled,
                    time_limit_s=cfg.reference_time_limit_s,
                    threads=cfg.threads,
                    starts=[s.plans for s in sims if s.complete],
                    round_bounds=refs[0].per_round_bound,
                )
            )
        for ref in refs:
            settings = {"reference": ref.name, "time_limit_s": cfg.reference_time_limit_s}
            run = {
                "instance_sha256": sha,
                "instance_path": str(cfg.file),
                "instance_name": rounds.name,
                "label": ref.name,
                "kind": "reference",
                "settings": settings,
                "status": "optimal" if ref.proven else ("feasible" if ref.objective else "bound"),
                "n_rounds": compiled.n_rounds,
                "objective": ref.objective,
                "bound": ref.bound,
                "totals": {**ref.stats, "wall_s": ref.wall_s, "command": cfg.command},
            }
            rows = [
                {"round": k + 1, "objective": v, "bound": b, "status": "reference"}
                for k, (v, b) in enumerate(
                    zip(
                        ref.per_round or [None] * compiled.n_rounds,
                        ref.per_round_bound or [None] * compiled.n_rounds,
                    )
                )
            ]
            runs.append((run, rows))
            if store is not None:
                store.add(run, rows)
            proof = "proven optimal" if ref.proven else "not proven"
            lines.append(
                f"{ref.name}: {'–' if ref.objective is None else f'{ref.objective:.6f}'} "
                f"({proof}; bound {'–' if ref.bound is None else f'{ref.bound:.6f}'}; "
                f"{ref.wall_s:.1f} s)"
            )
    finally:
        if store is not None:
            store.close()
    if cfg.db is not None:
        runs = read_runs(cfg.db, sha)  # the report shows every run stored for this file
    best = competitive(runs)
    if best["optimum"] is not None:
        for stored, _ in runs:
            if stored["kind"] == "policy" and stored["objective"] is not None:
                ratio = stored["objective"] / best["optimum"]
                lines.append(f"competitive ratio {stored['label']}: {ratio:.4f}")
    if cfg.report is not None:
        build_rounds_report(
            runs,
            cfg.report,
            title=f"Rounds: {rounds.name}",
            command=cfg.command,
            inputs=[p for p in (cfg.file, cfg.db) if p is not None],
        )
        lines.append(f"report written to {cfg.report}")
    return lines


class _Lines(list[str]):
    """The summary lines, each said as it is appended."""

    def __init__(self, say: Callable[[str], None] | None):
        super().__init__()
        self.say = say

    def append(self, line: str) -> None:
        super().append(line)
        if self.say is not None:
            self.say(line)


def _policy_run(
    sha: str,
    cfg: SimulateConfig,
    name: str,
    label: str,
    settings: dict[str, Any],
    sim: Simulation,
) -> dict[str, Any]:
    from edgeopt import __version__

    return {
        "instance_sha256": sha,
        "instance_path": os.fspath(Path(cfg.file)),
        "instance_name": name,
        "label": label,
        "kind": "policy",
        "settings": settings,
        "status": "complete" if sim.complete else "stopped",
        "n_rounds": len(sim.records),
        "objective": sim.total_objective,
        "bound": None,
        "totals": {**sim.totals(), "command": cfg.command},
        "edgeopt_version": __version__,
    }
