"""``edgeopt batch``: solve many instance files with several solvers into a SQLite results file."""

from __future__ import annotations

import argparse

from edgeopt.argcheck import MAX_COLUMNS, SEED, TIME_LIMIT_S, WORKERS, check_options
from edgeopt.paths import check_output
from edgeopt.solvers.registry import parse_options

__all__ = ["main", "parse_options", "build_parser"]




def build_parser(prog: str = "edgeopt batch") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Solve every instance file with every solver and store one row per (instance, solver, "
        "settings) in a SQLite file, each committed as soon as it finishes. Re-running the same command "
        "skips the rows already stored; a file that cannot be read becomes an error row.",
    )
    p.add_argument("paths", nargs="+", help="instance files, folders (their *.json) or glob patterns")
    p.add_argument("--solvers", default="greedy,milp", help="comma-separated solver names (default greedy,milp; "
                   "'all' = every registered solver)")
    p.add_argument("--db", default="results.sqlite", help="SQLite results file (default results.sqlite)")
    p.add_argument("--time-limit", type=float, default=None, help="per-solve time limit in seconds")
    p.add_argument("--seed", type=int, default=0, help="seed given to every solver (default 0)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default one per core; 1 = solve in this process)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run the tasks on this Dask distributed scheduler instead of local processes")
    p.add_argument("--set", action="append", default=[], metavar="[SOLVER.]KEY=VALUE",
                   help="solver option, for every solver or one (repeatable), e.g. milp.mip_gap=1e-4")
    p.add_argument("--retry-errors", action="store_true", help="run again the rows stored as errors")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None, prog: str = "edgeopt batch") -> int:
    from edgeopt.batch.runner import run_batch
    from edgeopt.solvers.registry import solver_names

    a = build_parser(prog).parse_args(argv)
    solvers = [s.strip() for s in a.solvers.split(",") if s.strip()]
    if solvers == ["all"]:
        solvers = solver_names()
    if a.workers is not None and a.workers < 1:
        raise InputError("must be at least 1", field="workers")
    summary = run_batch(
        a.paths,
        solvers,
        a.db,
        time_limit_s=a.time_limit,
        seed=a.seed,
        workers=a.workers,
        scheduler=a.scheduler,
        options=parse_options(a.set),
        retry_errors=a.retry_errors,
        progress=not a.no_progress,
    )
    for msg in summary.error_messages[:10]:
        print(f"  error: {msg}")
    if len(summary.error_messages) > 10:
        print(f"  ... and {len(summary.error_messages) - 10} more error(s)")
    print(summary.line())
    return 0
