"""``edgeopt simulate``: plan a rounds file round by round with policies (docs/model.md §9)."""

from __future__ import annotations

import argparse
import sys

from edgeopt.argcheck import MAX_COLUMNS, THREADS, TIME_LIMIT_S, Range, check_options
from edgeopt.cli.options import add_max_columns


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Run policies over the maintenance rounds of a rounds file (docs/model.md §9): per-round "
        "Z, migrations, traffic and planning time into the results database, the hindsight "
        "references on request, and a report with time-series plots."
    )
    p.add_argument("file", help="rounds file (edgeopt-rounds/1, from 'generate --rounds')")
    p.add_argument(
        "--policy",
        default="incremental",
        help="comma-separated policies: resolve, incremental, learned (default incremental)",
    )
    p.add_argument("--solver", default="greedy+ls", help="the solver of 'resolve'")
    p.add_argument(
        "--moves",
        type=int,
        default=-1,
        help="incremental: at most this many voluntary migrations per round (default -1: any, "
        "each priced by the migration term)",
    )
    p.add_argument("--time-limit", type=float, default=None, help="per round and policy, seconds")
    p.add_argument(
        "--db", default="results.sqlite", help="results database (default results.sqlite)"
    )
    p.add_argument("--no-db", action="store_true", help="store nothing")
    p.add_argument("--report", default=None, help="write a report (README.md + plots) here")
    p.add_argument(
        "--round-optimum", action="store_true", help="each round's one-round optimum (MILP)"
    )
    p.add_argument(
        "--horizon", action="store_true", help="the whole-horizon optimum (one MILP; small T)"
    )
    p.add_argument(
        "--reference-time-limit",
        type=float,
        default=300.0,
        help="time limit of each reference MILP, seconds (default 300)",
    )
    p.add_argument("--threads", type=int, default=1, help="threads of the reference MILPs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_max_columns(p)


def run(a: argparse.Namespace) -> int:
    from edgeopt.rounds.run import SimulateConfig, run_simulate

    check_options(
        a,
        time_limit=TIME_LIMIT_S,
        reference_time_limit=TIME_LIMIT_S,
        threads=THREADS,
        max_columns=MAX_COLUMNS,
        moves=Range(-1, 10**9, integer=True),
    )
    argv = sys.argv[1:]
    cfg = SimulateConfig(
        file=a.file,
        policies=[x.strip() for x in a.policy.split(",") if x.strip()],
        solver=a.solver,
        moves=None if a.moves == -1 else a.moves,
        time_limit_s=a.time_limit,
        db=None if a.no_db else a.db,
        report=a.report,
        round_optimum=a.round_optimum,
        horizon=a.horizon,
        reference_time_limit_s=a.reference_time_limit,
        threads=a.threads,
        max_columns=a.max_columns,
        progress=not a.no_progress,
        command="edgeopt " + " ".join(argv) if argv[:1] == ["simulate"] else "",
    )
    run_simulate(cfg, say=lambda line: print(line, flush=True))
    return 0
